import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { configureLog, type Level, parseEnv } from "@lab/shared";
import { freePort } from "../../scripts/lib/postgres";
import { courseApp } from "../../services/course/src/app";
import { spawnService, stopService } from "../flags/service-process";
import { freshDatabase, type Harness, serviceHarness, waitUntil } from "../support";

const ROOT = join(import.meta.dir, "../..");
const settle = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

/** `[12:01:02.345] INFO: course GET /courses/:id 404 1.3 ms <request id>`, colours stripped. */
const PRETTY_ACCESS_LINE = /INFO: course GET \/courses\/:id 404 \d+(\.\d)? ms [0-9a-f-]{36}/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences of terminal colours
const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "");

describe("format", () => {
  test("a service on a terminal writes one readable line per request", async () => {
    const port = freePort();
    let screen = "";
    const child = Bun.spawn(["bun", join(ROOT, "services/course/src/index.ts")], {
      cwd: ROOT,
      env: {
        ...process.env,
        LOG_LEVEL: "info",
        LOG_FORMAT: "",
        PORT: String(port),
        DATABASE_URL: await freshDatabase("logs_tty"),
      },
      terminal: {
        cols: 200,
        rows: 50,
        data: (_terminal, data) => {
          screen += new TextDecoder().decode(data);
        },
      },
    });
    try {
      await waitUntil(async () => plain(screen).includes("course listening"), {
        timeoutMs: 30_000,
        intervalMs: 100,
        failure: `the service did not say it was listening:\n${screen}`,
      });
      await fetch(`http://127.0.0.1:${port}/courses/999999`);
      await waitUntil(async () => PRETTY_ACCESS_LINE.test(plain(screen)), {
        timeoutMs: 5_000,
        intervalMs: 50,
        failure: `no readable access line:\n${screen}`,
      });
      expect(plain(screen)).not.toContain('"msg"');
    } finally {
      child.kill("SIGTERM");
      await child.exited;
      child.terminal?.close();
    }
  }, 60_000);

  test("piped, the same service writes JSON lines; LOG_FORMAT=pretty makes them readable anyway", async () => {
    const database = await freshDatabase("logs_pipe");
    for (const format of ["", "pretty"]) {
      const service = await spawnService("course", { DATABASE_URL: database, LOG_LEVEL: "info", LOG_FORMAT: format });
      await fetch(`${service.url}/courses/999999`);
      // the access line is written once the answer has gone out
      await waitUntil(async () => service.output().includes("/courses/:id"), {
        timeoutMs: 5_000,
        intervalMs: 20,
        failure: `no access line:\n${service.output()}`,
      });
      await stopService(service);
      const output = plain(service.output());
      if (format === "pretty") {
        expect(output).toMatch(PRETTY_ACCESS_LINE);
      } else {
        const lines = output
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line));
        expect(lines).toContainEqual(
          expect.objectContaining({
            level: "info",
            service: "course",
            msg: "request",
            route: "/courses/:id",
            status: 404,
          }),
        );
      }
    }
  }, 60_000);

  test("LOG_FORMAT takes json or pretty", () => {
    expect(parseEnv({ LOG_FORMAT: "json" }, 8002).LOG_FORMAT).toBe("json");
    expect(parseEnv({}, 8002).LOG_FORMAT).toBeUndefined();
    expect(() => parseEnv({ LOG_FORMAT: "xml" }, 8002)).toThrow("LOG_FORMAT is invalid");
  });
});

describe("access lines", () => {
  let api: Harness;
  const written: Record<string, unknown>[] = [];
  const capture = (level: Level) =>
    configureLog("course", level, "json", { write: (line: string) => void written.push(JSON.parse(line)) });
  const requestLines = () => written.filter((line) => line.msg === "request");

  beforeAll(async () => {
    api = await serviceHarness("course", join(ROOT, "services/course/migrations"), courseApp);
  });
  afterEach(() => {
    written.length = 0;
    configureLog("course", "warn", "json");
  });
  afterAll(() => api.close());

  test("each request: method, route, status, duration and the request id it answered with", async () => {
    capture("info");
    const missing = await api.request("GET", "/courses/999999", { headers: { "x-request-id": "trace-me-1" } });
    const invalid = await api.request("GET", "/courses/not-a-number");
    await settle();
    expect(missing.headers.get("x-request-id")).toBe("trace-me-1");
    const lines = requestLines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: "info",
      service: "course",
      request_id: "trace-me-1",
      method: "GET",
      route: "/courses/:id",
      status: 404,
    });
    expect(lines[1]).toMatchObject({ request_id: invalid.headers.get("x-request-id"), status: 422 });
    for (const line of lines) {
      expect(typeof line.duration_ms).toBe("number");
      expect(line.duration_ms as number).toBeGreaterThanOrEqual(0);
    }
  });

  test("probes and scrapes are not written at info, only at debug", async () => {
    const probe = async () => {
      for (const path of ["/healthz", "/readyz", "/metrics"]) expect((await api.request("GET", path)).status).toBe(200);
      await settle();
    };
    capture("info");
    await probe();
    expect(requestLines()).toEqual([]);

    capture("debug");
    await probe();
    // the scrape's route comes with the metrics plugin, before the access line's hook: never logged
    expect(requestLines().map((line) => [line.level, line.route])).toEqual([
      ["debug", "/healthz"],
      ["debug", "/readyz"],
    ]);
  });
});
