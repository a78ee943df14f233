import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { activeFlags, Db, LATENCY_BUCKETS, Metrics, metricsPlugin, parseEnv } from "@lab/shared";
import { type Sample, parseSamples as samples } from "@lab/shared/exposition";
import { Elysia, t } from "elysia";
import { isAsync } from "elysia/compose";
import { courseApp } from "../../services/course/src/app";
import { freshDatabase, type Harness, serviceHarness, tokenFor } from "../support";

const matching = (all: Sample[], name: string, labels: Record<string, string> = {}) =>
  all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

/** Elysia records a request in a setImmediate after the response; let those run before reading. */
const settle = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

async function scrape(api: Harness) {
  await settle();
  const response = await api.request("GET", "/metrics");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/plain");
  return samples(response.text);
}

let api: Harness;
beforeAll(async () => {
  api = await serviceHarness("course", join(import.meta.dir, "../../services/course/migrations"), courseApp);
});
afterAll(() => api.close());

describe("HTTP metrics of a service", () => {
  test("requests are labelled by route template and status, never by the raw id", async () => {
    const teacher = await tokenFor({ role: "teacher", is_verified: true });
    const created = await api.request("POST", "/courses", {
      token: teacher,
      body: { title: "Metrics 101", description: "Counting", level: "beginner", price_cents: 0, duration_hours: 1 },
    });
    expect(created.status).toBe(201);
    expect((await api.request("GET", `/courses/${created.body.id}`)).status).toBe(200);
    expect((await api.request("GET", "/courses/987654")).status).toBe(404);
    expect((await api.request("GET", "/courses/not-a-number")).status).toBe(422);
    expect((await api.request("GET", "/no/such/route/42")).status).toBe(404);

    const all = await scrape(api);
    const counts = matching(all, "http_request_duration_seconds_count", { service: "course" });
    const key = (s: Sample) => `${s.labels.method} ${s.labels.route} ${s.labels.status}`;
    expect(counts.map(key)).toEqual(
      expect.arrayContaining([
        "POST /courses 201",
        "GET /courses/:id 200",
        "GET /courses/:id 404",
        "GET /courses/:id 422",
        "GET unmatched 404",
      ]),
    );
    const routes = new Set(all.flatMap((s) => (s.labels.route === undefined ? [] : [s.labels.route])));
    for (const route of routes) expect(route).toMatch(/^(unmatched|(\/([a-z-]+|:[a-z_]+))+)$/);
    expect(routes.has(`/courses/${created.body.id}`)).toBe(false);
  });

  test("the histogram counts every request once, with cumulative buckets from 1 ms to 10 s", async () => {
    const before = await scrape(api);
    const countOf = (all: Sample[]) =>
      matching(all, "http_request_duration_seconds_count", { route: "/courses", method: "GET", status: "200" })[0]
        ?.value ?? 0;
    const requests = 7;
    for (let i = 0; i < requests; i++) expect((await api.request("GET", "/courses?limit=2")).status).toBe(200);
    const after = await scrape(api);
    expect(countOf(after) - countOf(before)).toBe(requests);

    const labels = { route: "/courses", method: "GET", status: "200" };
    const buckets = matching(after, "http_request_duration_seconds_bucket", labels);
    expect(buckets.map((b) => b.labels.le)).toEqual([...LATENCY_BUCKETS.map(String), "+Inf"]);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(buckets.at(-1)!.value).toBe(countOf(after));
    expect(matching(after, "http_request_duration_seconds_sum", labels)[0]!.value).toBeGreaterThan(0);
  });

  test("a thousand distinct ids add no series", async () => {
    const seriesCount = (all: Sample[]) => all.filter((s) => s.name.startsWith("http_request_duration")).length;
    await Promise.all(Array.from({ length: 20 }, (_, i) => api.request("GET", `/courses/${500_000 + i}`)));
    const before = seriesCount(await scrape(api));
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => api.request("GET", `/courses/${600_000 + batch * 100 + i}`)),
      );
    }
    const after = await scrape(api);
    expect(seriesCount(after)).toBe(before);
    const notFound = matching(after, "http_request_duration_seconds_count", { route: "/courses/:id", status: "404" });
    expect(notFound).toHaveLength(1);
    expect(notFound[0]!.value).toBeGreaterThanOrEqual(1020);
  });

  test("scrapes of /metrics are not counted as traffic, and nothing stays in flight", async () => {
    await scrape(api);
    const all = await scrape(api);
    expect(matching(all, "http_request_duration_seconds_count", { route: "/metrics" })).toHaveLength(0);
    expect(matching(all, "http_requests_in_flight")[0]!.value).toBe(0);
  });

  test("process defaults: CPU, resident memory and event-loop lag", async () => {
    const all = await scrape(api);
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds"]) {
      expect(matching(all, name, { service: "course" })).toHaveLength(1);
    }
    expect(matching(all, "process_resident_memory_bytes")[0]!.value).toBeGreaterThan(1_000_000);
  });

  test("cache counters exist at zero before the first look-up", async () => {
    const all = await scrape(api);
    for (const result of ["hit", "miss", "error"]) {
      expect(matching(all, "cache_requests_total", { service: "course", result })[0]?.value).toBe(0);
    }
  });
});

describe("a handler's own Response", () => {
  test("is recorded with the status it carries, and odd methods share one label", async () => {
    const metrics = new Metrics("probe");
    const app = new Elysia()
      .use(metricsPlugin(metrics))
      .get("/teapot/:id", () => new Response("short and stout", { status: 418 }))
      .all("/any", () => "ok");
    expect((await app.handle(new Request("http://localhost/teapot/3"))).status).toBe(418);
    await app.handle(new Request("http://localhost/any", { method: "PROPFIND" }));
    await settle();
    const all = samples(await metrics.registry.metrics());
    expect(matching(all, "http_request_duration_seconds_count", { route: "/teapot/:id", status: "418" })).toHaveLength(
      1,
    );
    expect(matching(all, "http_request_duration_seconds_count", { route: "/any", method: "other" })).toHaveLength(1);
  });
});

describe("the request path of a service", () => {
  // Elysia reads a hook as async from its source (`async`, `await`, or `=> call(…)` / `return call(…)`)
  // and then awaits it on every request: a microtask and a promise per hook, for nothing.
  test("awaits no hook of the shared plugins: request, transform and fragment hooks run in line", () => {
    const app = api.app;
    app.compile();
    const route = app.routes.find((found) => found.method === "GET" && found.path === "/courses/:id");
    const handle = String((route as unknown as { compile: () => unknown }).compile());
    expect(handle).toContain("e.transform[0](c)");
    expect(handle).toContain("e.mapResponse[0](c)");
    expect(handle).not.toMatch(/await e\.(transform|mapResponse|beforeHandle|afterHandle)/);
    // request hooks run before routing, in a function Elysia makes async if any of them reads as async
    const requestHooks = app.event.request ?? [];
    expect(requestHooks.length).toBeGreaterThanOrEqual(2);
    expect(requestHooks.filter((hook) => isAsync(hook))).toEqual([]);
  });
});

describe("the route and status of a request that fails", () => {
  test("are the route's and the answer's: a body that does not parse, a value that does not validate", async () => {
    const metrics = new Metrics("failing-probe");
    const app = new Elysia()
      .use(metricsPlugin(metrics, { requestIds: true }))
      .post("/items", ({ body }) => body, { body: t.Object({ name: t.String() }) });
    const post = (body: string) =>
      app.handle(
        new Request("http://localhost/items", {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
        }),
      );
    const broken = await post("{");
    const invalid = await post("{}");
    expect([broken.status, invalid.status]).toEqual([400, 422]);
    for (const answer of [broken, invalid]) expect(answer.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    await settle();
    const all = samples(await metrics.registry.metrics());
    for (const status of ["400", "422"]) {
      expect(matching(all, "http_request_duration_seconds_count", { route: "/items", status })[0]?.value).toBe(1);
    }
  });
});

describe("requests in flight", () => {
  test("a request being served counts until its answer has gone out", async () => {
    const metrics = new Metrics("in-flight-probe");
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    const app = new Elysia().use(metricsPlugin(metrics)).get("/slow", async () => {
      await released;
      return "done";
    });
    const inFlight = async () =>
      matching(samples(await metrics.registry.metrics()), "http_requests_in_flight")[0]?.value;
    const answer = app.handle(new Request("http://localhost/slow"));
    await settle();
    expect(await inFlight()).toBe(1);
    release();
    expect(await (await answer).text()).toBe("done");
    await settle();
    expect(await inFlight()).toBe(0);
  });
});

describe("flags", () => {
  test("lab_flags carries every experiment flag as a label", async () => {
    const config = parseEnv({ DB_POOL_MAX: "20", SEARCH_INDEX: "trgm", CACHE: "redis", WORKERS: "4" }, 8002);
    const metrics = new Metrics("course", activeFlags(config));
    const [flags] = matching(samples(await metrics.registry.metrics()), "lab_flags");
    expect(flags).toEqual({
      name: "lab_flags",
      labels: { service: "course", ...activeFlags(config) },
      value: 1,
    });
    expect(flags!.labels).toMatchObject({ DB_POOL_MAX: "20", SEARCH_INDEX: "trgm", CACHE: "redis", WORKERS: "4" });
  });
});

describe("database pool metrics", () => {
  test("pool size, waiting requests, query durations and 503s from exhaustion", async () => {
    const db = new Db({ url: await freshDatabase("metrics_pool"), max: 1, acquireTimeoutMs: 100 });
    const metrics = new Metrics("pool-probe");
    metrics.observeDb(db);
    try {
      const holder = db.run((sql) => sql`SELECT pg_sleep(0.6)`);
      const waiters = Array.from({ length: 3 }, () =>
        db.query`SELECT 1`.then(
          () => "ok",
          (e) => e.status as number,
        ),
      );
      const during = samples(await metrics.registry.metrics());
      expect(matching(during, "db_pool_size")[0]!.value).toBe(1);
      expect(matching(during, "db_pool_in_use")[0]!.value).toBe(1);
      expect(matching(during, "db_pool_waiting")[0]!.value).toBe(3);
      expect(await Promise.all(waiters)).toEqual([503, 503, 503]);
      await holder;
      await db.query`SELECT 1`;
      const after = samples(await metrics.registry.metrics());
      expect(matching(after, "db_pool_exhausted_total")[0]!.value).toBe(3);
      expect(matching(after, "db_pool_waiting")[0]!.value).toBe(0);
      expect(matching(after, "db_query_duration_seconds_count", { outcome: "ok" })[0]!.value).toBe(2);
      // Each refused waiter queued for the whole acquire timeout: the counters keep what a gauge sample misses.
      expect(matching(after, "db_pool_waits_total")[0]!.value).toBe(3);
      expect(matching(after, "db_pool_wait_seconds_total")[0]!.value).toBeGreaterThanOrEqual(0.3);
    } finally {
      await db.close();
    }
  });

  test("a request granted a connection after queueing counts as a wait", async () => {
    const db = new Db({ url: await freshDatabase("metrics_pool_wait"), max: 1, acquireTimeoutMs: 5_000 });
    const metrics = new Metrics("pool-probe");
    metrics.observeDb(db);
    try {
      const holder = db.run((sql) => sql`SELECT pg_sleep(0.2)`);
      await db.query`SELECT 1`;
      await holder;
      await db.query`SELECT 1`; // a free connection: no wait
      const after = samples(await metrics.registry.metrics());
      expect(matching(after, "db_pool_waits_total")[0]!.value).toBe(1);
      expect(matching(after, "db_pool_wait_seconds_total")[0]!.value).toBeGreaterThan(0);
      expect(matching(after, "db_pool_exhausted_total")[0]!.value).toBe(0);
    } finally {
      await db.close();
    }
  });
});
