import { expect } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICE_NAMES } from "@lab/shared";
import { freePort } from "../../scripts/lib/postgres";
import { runCommand } from "../../scripts/lib/process";
import { type PrometheusServer, scrapeConfig, startPrometheus, targetOf } from "../../scripts/lib/prometheus";
import { ROOT, type Stack } from "../../scripts/lib/stack";
import { throwAwayStack, waitUntil } from "../support";
import { needs } from "../tools";

const { afterAll, beforeAll, test } = needs(["chromium", "prometheus"]);

/**
 * The Lab page over a past range on the embedded stack with Prometheus (`bun run start --prometheus`):
 * `/lab?from=&to=` reads Prometheus's range, and `bun run screenshot --from --to` captures it.
 */
let stack: Stack & { dir: string };
let prometheus: PrometheusServer;
let scratch: string;
let trafficFrom: number;
let trafficTo: number;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "lab-range-"));
  const prometheusPort = freePort();
  stack = await throwAwayStack("lab-range", { PROMETHEUS_URL: `http://127.0.0.1:${prometheusPort}` });
  const configFile = join(scratch, "prometheus.yml");
  await Bun.write(
    configFile,
    scrapeConfig(Object.fromEntries(SERVICE_NAMES.map((name) => [name, targetOf(stack.urls[name])])), "1s"),
  );
  prometheus = await startPrometheus({ configFile, dataDir: join(scratch, "tsdb"), port: prometheusPort });
  // a few seconds of catalog reads and a missing course (a 404), scraped every second
  trafficFrom = Date.now();
  while (Date.now() - trafficFrom < 8000) {
    await Promise.all([
      fetch(`${stack.urls.course}/courses?limit=5&offset=0`).then((r) => r.arrayBuffer()),
      fetch(`${stack.urls.course}/courses/999999`).then((r) => r.arrayBuffer()),
    ]);
  }
  trafficTo = Date.now();
  // the scrape after the traffic is in before the range is read
  await waitUntil(
    async () => {
      const query = encodeURIComponent(`max(timestamp(up{job="course"}))`);
      const body = (await (await fetch(`${prometheus.url}/api/v1/query?query=${query}`)).json()) as {
        data: { result: { value: [number, string] }[] };
      };
      return Number(body.data.result[0]?.value[1] ?? 0) * 1000 > trafficTo + 1000;
    },
    { timeoutMs: 20_000, intervalMs: 250, failure: "Prometheus did not scrape after the traffic" },
  );
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await stack?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 60_000);

test("/lab?from=&to= shows that range from Prometheus: the table over all of it", async () => {
  const url = `${stack.urls.web}/lab?from=${trafficFrom}&to=${trafficTo + 2000}`;
  const response = await fetch(url);
  const html = await response.text();
  expect(response.status).toBe(200);
  expect(html).toContain("From Prometheus: every chart point covers");
  const course = /<tr data-service="course"[^>]*>([\s\S]*?)<\/tr>/.exec(html)?.[1] ?? "";
  const cells = [...course.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((match) => match[1]?.trim());
  // req/s > 0; half the requests were the 404: 4xx about 50 %
  expect(Number(cells[0])).toBeGreaterThan(0);
  expect(Number.parseFloat(cells[4] ?? "")).toBeGreaterThan(30);
  expect(html).toContain('data-chart="latency"');
  expect(html).not.toContain("hx-trigger");
  expect((await fetch(`${stack.urls.web}/lab?from=${trafficFrom}`)).status).toBe(400);
});

test("bun run screenshot --from --to captures the running stack's Lab page over the range", async () => {
  const out = join(scratch, "shots");
  const { stdout, stderr, code } = await runCommand(
    [
      "bun",
      "run",
      "--silent",
      "screenshot",
      "--from",
      new Date(trafficFrom).toISOString(),
      "--to",
      String(trafficTo + 2000),
      "--web",
      stack.urls.web as string,
      "--out",
      out,
    ],
    { cwd: ROOT },
  );
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  const [file] = stdout.trim().split(": ").slice(-1);
  expect(file).toMatch(/lab-\d{4}-\d\d-\d\dT[\d-]+Z-\d{4}-\d\d-\d\dT[\d-]+Z\.png$/);
  const png = new Uint8Array(await Bun.file(file as string).arrayBuffer());
  expect(new TextDecoder().decode(png.subarray(1, 4))).toBe("PNG");
}, 60_000);
