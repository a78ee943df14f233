import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { activeFlags, Metrics, metricsPlugin, parseEnv } from "@lab/shared";
import { FLAG_LABELS } from "@lab/shared/promql";
import { Elysia } from "elysia";
import { freePort } from "../../scripts/lib/postgres";
import { courseApp } from "../../services/course/src/app";
import { renderCharts } from "../../web-htmx/src/lab/charts";
import type { LabSnapshot } from "../../web-htmx/src/lab/model";
import {
  histogramQuantile,
  LabNumbers,
  MetricsSource,
  PrometheusSource,
  type Reading,
  readMetrics,
  windowValues,
} from "../../web-htmx/src/lab/service";
import { LabLive, LabPage } from "../../web-htmx/src/lab/views";
import { type Harness, serviceHarness } from "../support";

/** Elysia records a request in a setImmediate after the response; let those run before reading. */
const settle = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

test("FLAG_LABELS are the flags every service reports", () => {
  expect<string[]>([...FLAG_LABELS]).toEqual(Object.keys(activeFlags(parseEnv({}, 8001))));
});

describe("reading /metrics", () => {
  test("adds up every route, method and status of the request histogram, and takes the flags", async () => {
    const metrics = new Metrics("course", activeFlags(parseEnv({ CACHE: "redis", WORKERS: "2" }, 8002)));
    const app = new Elysia()
      .use(metricsPlugin(metrics))
      .get("/ok/:id", () => "ok")
      .get("/gone", ({ set }) => {
        set.status = 404;
        return "gone";
      })
      .get("/broken", () => new Response("no", { status: 503 }));
    for (const path of ["/ok/1", "/ok/2", "/ok/3", "/gone", "/broken"]) {
      await app.handle(new Request(`http://localhost${path}`));
    }
    await settle();
    const reading = readMetrics(await metrics.registry.metrics(), 1_000);
    expect(reading).toMatchObject({ time: 1_000, requests: 5, errors4xx: 1, errors5xx: 1, inFlight: 0 });
    expect(reading.poolSize).toBeNull();
    expect(reading.flags).toMatchObject({ CACHE: "redis", WORKERS: "2", SEARCH_INDEX: "none" });
    expect(reading.flags.service).toBeUndefined();
    const [first, last] = [reading.buckets[0]!, reading.buckets.at(-1)!];
    expect(first[0]).toBe(0.001);
    expect(last).toEqual([Number.POSITIVE_INFINITY, 5]);
    for (let i = 1; i < reading.buckets.length; i++) {
      expect(reading.buckets[i]![1]).toBeGreaterThanOrEqual(reading.buckets[i - 1]![1]);
    }
  });
});

describe("histogramQuantile, as Prometheus computes it", () => {
  const buckets: [number, number][] = [
    [0.1, 10],
    [0.2, 20],
    [0.4, 40],
    [Number.POSITIVE_INFINITY, 40],
  ];
  test("interpolates linearly inside the bucket that holds the rank", () => {
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.375, buckets)).toBeCloseTo(0.15);
    expect(histogramQuantile(0.75, buckets)).toBeCloseTo(0.3);
    expect(histogramQuantile(0.1, buckets)).toBeCloseTo(0.04);
  });
  test("answers the highest finite bound for ranks in +Inf, and null without observations", () => {
    expect(histogramQuantile(0.99, [...buckets.slice(0, 3), [Number.POSITIVE_INFINITY, 50]])).toBe(0.4);
    expect(
      histogramQuantile(0.5, [
        [0.1, 0],
        [Number.POSITIVE_INFINITY, 0],
      ]),
    ).toBeNull();
  });
});

describe("windowValues", () => {
  const reading = (time: number, requests: number, errors5xx: number, fast: number): Reading => ({
    time,
    requests,
    errors4xx: 0,
    errors5xx,
    buckets: [
      [0.01, fast],
      [0.1, requests],
      [Number.POSITIVE_INFINITY, requests],
    ],
    inFlight: 0,
    poolInUse: null,
    poolSize: null,
    poolWaiting: null,
    flags: {},
  });
  test("rates and shares over the difference of two readings", () => {
    const values = windowValues(reading(0, 100, 0, 100), reading(4_000, 300, 20, 200));
    expect(values.rps).toBe(50);
    expect(values.errors5xx).toBe(0.1);
    expect(values.errors4xx).toBe(0);
    // 200 new requests: 100 under 10 ms, 100 between 10 and 100 ms
    expect(values.p50).toBeCloseTo(0.01);
    expect(values.p95).toBeCloseTo(0.01 + 0.09 * 0.9);
  });
  test("a restarted process counts from zero, like rate()", () => {
    const values = windowValues(reading(0, 1_000, 0, 1_000), reading(2_000, 40, 0, 40));
    expect(values.rps).toBe(20);
  });
  test("no traffic: zero requests/s and no percentiles or shares", () => {
    const values = windowValues(reading(0, 10, 0, 10), reading(2_000, 10, 0, 10));
    expect(values).toEqual({ rps: 0, p50: null, p95: null, p99: null, errors4xx: null, errors5xx: null });
  });
});

describe("MetricsSource against a real service", () => {
  let course: Harness;
  let courseUrl: string;
  let clock = 1_000_000;
  let fetches = 0;
  const countingFetch = (url: string, init?: RequestInit) => {
    fetches++;
    return fetch(url, init);
  };
  const closedPort = freePort();
  let source: MetricsSource;

  beforeAll(async () => {
    course = await serviceHarness("course", join(import.meta.dir, "../../services/course/migrations"), courseApp);
    course.app.listen({ hostname: "127.0.0.1", port: 0 });
    courseUrl = `http://127.0.0.1:${course.app.server!.port}`;
    source = new MetricsSource(
      { course: courseUrl, payment: `http://127.0.0.1:${closedPort}` },
      { now: () => clock, fetch: countingFetch, timeoutMs: 500 },
    );
  });
  afterAll(async () => {
    await course.app.stop(true);
    await course.close();
  });

  test("request rate and error share come from the service's own counters", async () => {
    const first = await source.snapshot();
    expect(first.points).toEqual([]);
    expect(first.services.find((s) => s.service === "course")).toMatchObject({ up: true, rps: null, poolSize: 5 });
    for (let i = 0; i < 9; i++) await fetch(`${courseUrl}/courses?limit=1`);
    await fetch(`${courseUrl}/courses/424242`);
    await settle();
    clock += 2_000;
    const second = await source.snapshot();
    const summary = second.services.find((s) => s.service === "course")!;
    // Exactly the ten requests: the source's own reads of /metrics are not traffic.
    expect(summary.rps).toBe(5);
    expect(summary.errors4xx).toBe(0.1);
    expect(summary.errors5xx).toBe(0);
    expect(summary.p50).toBeGreaterThan(0);
    expect(summary.p99).toBeGreaterThanOrEqual(summary.p50!);
    expect(second.points.filter((p) => p.service === "course").map((p) => p.series)).toEqual([
      "rps",
      "p50",
      "p95",
      "p99",
      "errors4xx",
      "errors5xx",
    ]);
  });

  test("a service that does not answer is down, and pages polling together share one read", async () => {
    const before = fetches;
    const snapshots = await Promise.all([source.snapshot(), source.snapshot(), source.snapshot()]);
    expect(fetches - before).toBe(0);
    clock += 2_000;
    await Promise.all([source.snapshot(), source.snapshot()]);
    expect(fetches - before).toBe(2);
    for (const snapshot of snapshots) {
      expect(snapshot.services.find((s) => s.service === "payment")).toMatchObject({ up: false, rps: null });
    }
  });

  test("without traffic the rate drops to zero", async () => {
    clock += 2_000;
    await source.snapshot();
    clock += 20_000;
    const idle = await source.snapshot();
    expect(idle.services.find((s) => s.service === "course")!.rps).toBe(0);
  });

  test("a Prometheus that does not answer falls back to /metrics and says so", async () => {
    const numbers = new LabNumbers(source, new PrometheusSource(`http://127.0.0.1:${closedPort}`, ["course"]));
    clock += 2_000;
    const snapshot = await numbers.snapshot();
    expect(snapshot.source).toBe("metrics");
    expect(snapshot.notice).toContain("Prometheus did not answer");
  });
});

const snapshot: LabSnapshot = {
  source: "metrics",
  windowSeconds: 10,
  services: [
    {
      service: "course",
      up: true,
      rps: 123.45,
      p50: 0.0042,
      p95: 0.0375,
      p99: 0.25,
      errors4xx: 0.02,
      errors5xx: 0.125,
      inFlight: 3,
      poolInUse: 5,
      poolSize: 5,
      poolWaiting: 7,
      flags: { SEARCH_INDEX: "trgm", DB_POOL_MAX: "5", DB_VIA_PGBOUNCER: "0", CACHE: "<b>off</b>", WORKERS: "1" },
    },
    {
      service: "payment",
      up: false,
      rps: null,
      p50: null,
      p95: null,
      p99: null,
      errors4xx: null,
      errors5xx: null,
      inFlight: null,
      poolInUse: null,
      poolSize: null,
      poolWaiting: null,
      flags: {},
    },
  ],
  points: [0, 2_000, 4_000].flatMap((offset, i) =>
    (["rps", "p50", "p95", "p99", "errors4xx", "errors5xx"] as const).map((series) => ({
      time: 1_800_000_000_000 + offset,
      service: "course",
      series,
      value: series === "rps" ? 100 + i : 0.01 * (i + 1),
    })),
  ),
};

describe("rendering", () => {
  test("three charts are SVG drawn by Vega on the server", async () => {
    const charts = (await renderCharts(snapshot))!;
    for (const svg of Object.values(charts)) {
      expect(svg).toStartWith("<svg");
      expect(svg).toContain('class="marks"');
      expect(svg).not.toContain("<script");
      expect(svg).toContain("course");
    }
    expect(charts.requests).toContain("Requests/s");
    expect(charts.latency).toContain("p95");
    expect(charts.errors).toContain("5xx");
    expect(await renderCharts({ ...snapshot, points: [] })).toBeNull();
  });

  test("the live part: flags escaped, numbers formatted, a service that is down marked", async () => {
    const html = await LabLive({ snapshot, charts: await renderCharts(snapshot) });
    expect(html).toContain("&lt;b&gt;off&lt;/b&gt;");
    expect(html).not.toContain("<b>off</b>");
    for (const text of ["123.5", "4.20 ms", "37.5 ms", "250.0 ms", "2.0 %", "12.5 %", "5/5 (+7 waiting)", "down"]) {
      expect(html).toContain(text);
    }
    expect(html.match(/<svg/g)).toHaveLength(3);
    const collecting = await LabLive({ snapshot: { ...snapshot, points: [] }, charts: null });
    expect(collecting).toContain("Collecting");
    expect(collecting).not.toContain("<svg");
  });

  test("the page polls the live part every 2 s with HTMX", async () => {
    const html = await LabPage({ snapshot, charts: null });
    expect(html).toContain('hx-get="/lab/live"');
    expect(html).toContain('hx-trigger="every 2s"');
    expect(html).toContain('id="lab-live"');
  });
});
