import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv, ServiceClient } from "@lab/shared";
import type { AnyElysia } from "elysia";
import { webApp } from "../src/app";
import type { Assets } from "../src/assets";
import { ReplayCache } from "../src/lab/run";

/**
 * The Lab page's replay of a finished run (`/lab?run=`), in-process over a run folder of its own:
 * no service is called, and the assets are stand-ins (the page only links them).
 */
const RUN = "02-trgm-index/2026-11-30T10-59-01Z-rate";
const STARTED = Date.parse("2026-11-30T10:59:43.000Z");
const FINISHED = STARTED + 29_000;
const ASSETS: Assets = {
  css: { path: "/assets/app.test.css", body: "", contentType: "text/css" },
  htmx: { path: "/assets/htmx.test.js", body: "", contentType: "text/javascript" },
};

let scratch: string;
let runDir: string;
let web: AnyElysia;

/** A timeline as `bun run experiment` writes it: one reading a second, course at `rps` requests/s. */
const writeTimeline = (rps: number) =>
  Bun.write(
    join(runDir, "timeline.json"),
    JSON.stringify({
      metrics: Array.from({ length: 30 }, (_, second) => ({
        at: STARTED / 1000 + second,
        services: {
          course: {
            pool_size: 5,
            pool_in_use: 1,
            pool_waiting: 0,
            responses_total: rps * second,
            responses_503_total: 0,
          },
        },
      })),
    }),
  );

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "lab-replay-"));
  runDir = join(scratch, "02-trgm-index/results/2026-11-30T10-59-01Z-rate");
  await mkdir(runDir, { recursive: true });
  await Bun.write(
    join(runDir, "run.json"),
    JSON.stringify({
      started_at: new Date(STARTED).toISOString(),
      finished_at: new Date(FINISHED).toISOString(),
      flags: {},
    }),
  );
  await writeTimeline(50);
  const config = parseEnv({ EXPERIMENTS_DIR: scratch }, 3000);
  web = webApp({ config, services: new ServiceClient(config), assets: ASSETS });
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

const lab = async (query: string) => {
  const answer = await web.handle(new Request(`http://localhost/lab?run=${encodeURIComponent(RUN)}${query}`));
  return { status: answer.status, text: await answer.text() };
};
const courseRate = (html: string) => /data-service="course"[\s\S]*?>(\d+\.\d)</.exec(html)?.[1];

describe("a finished run on the Lab page", () => {
  test("a range outside what a date can hold is a 400, not a 500", async () => {
    for (const query of [
      "&from=0&to=99999999999999999999999",
      "&from=0&to=8640000000000001",
      `&from=99999999999999999999999&to=${FINISHED}`,
    ]) {
      expect((await lab(query)).status, query).toBe(400);
    }
    expect((await lab(`&from=${STARTED}&to=8640000000000000`)).status).toBe(200);
  });

  test("a replay is rendered once per run and range: a run's files do not change once written", async () => {
    const range = `&from=${STARTED}&to=${FINISHED}`;
    const first = await lab(range);
    expect(first.status).toBe(200);
    expect(courseRate(first.text)).toBe("50.0");
    await writeTimeline(80);
    try {
      const again = await lab(range);
      expect(courseRate(again.text)).toBe("50.0");
      // another range is another replay, read from the files as they are now
      const other = await lab(`&from=${STARTED}&to=${FINISHED - 1000}`);
      expect(courseRate(other.text)).toBe("80.0");
    } finally {
      await writeTimeline(50);
    }
  });
});

describe("ReplayCache", () => {
  test("keeps the latest entries up to its size, a hit counting as recent", async () => {
    const cache = new ReplayCache(2);
    const loads: string[] = [];
    const get = (key: string) =>
      cache.get(key, async () => {
        loads.push(key);
        return `page ${key}`;
      });
    expect(await get("a")).toBe("page a");
    await get("b");
    await get("a");
    await get("c"); // evicts b, the least recently used
    await get("a");
    await get("b");
    expect(loads).toEqual(["a", "b", "c", "b"]);
  });

  test("concurrent requests share one rendering; a failure is not kept", async () => {
    const cache = new ReplayCache(2);
    let renders = 0;
    const render = async () => {
      renders++;
      await Bun.sleep(1);
      return "page";
    };
    expect(await Promise.all([cache.get("k", render), cache.get("k", render)])).toEqual(["page", "page"]);
    expect(renders).toBe(1);
    await expect(cache.get("broken", () => Promise.reject(new Error("no timeline")))).rejects.toThrow("no timeline");
    expect(await cache.get("broken", async () => "page")).toBe("page");
  });
});
