import { Elysia } from "elysia";
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type Metric,
  type MetricValueWithName,
  Registry,
} from "prom-client";
import type { Db } from "./db";
import { type Level, log, logs } from "./log";

/** 1 ms to 10 s, dense enough around 5–500 ms to read p50/p95/p99. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1, 1.5, 2.5,
  5, 10,
];

export const CACHE_RESULTS = ["hit", "miss", "error"] as const;
export type CacheResult = (typeof CACHE_RESULTS)[number];

type RequestSeries = { labels: { method: string; route: string; status: string }; counts: number[]; sum: number };

/**
 * http_request_duration_seconds: a histogram by method, route template and status, exported exactly
 * as prom-client's Histogram exports one (buckets, +Inf, sum, count; summed across workers). Written
 * here rather than taken from prom-client because its `observe` validates and hashes the labels and
 * looks up the bucket by its bound as a property name on every call: profiled, 5 % of a cached
 * request's CPU. Here an observation is one Map look-up by a string and a scan of the bounds.
 */
export class RequestDurations {
  readonly name = "http_request_duration_seconds";
  readonly help = "HTTP request duration by route template and status";
  readonly type = "histogram";
  readonly aggregator = "sum";
  private series = new Map<string, RequestSeries>();

  constructor(private readonly bounds: readonly number[]) {}

  observe(method: string, route: string, status: string, seconds: number) {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (series === undefined) {
      // one count per bound and one for +Inf
      series = { labels: { method, route, status }, counts: Array(this.bounds.length + 1).fill(0), sum: 0 };
      this.series.set(key, series);
    }
    let bucket = 0;
    while (bucket < this.bounds.length && seconds > (this.bounds[bucket] as number)) bucket++;
    (series.counts[bucket] as number)++;
    series.sum += seconds;
  }

  async get() {
    const values: MetricValueWithName<string>[] = [];
    for (const { labels, counts, sum } of this.series.values()) {
      let cumulative = 0;
      for (const [index, bound] of this.bounds.entries()) {
        cumulative += counts[index] as number;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
      }
      cumulative += counts[this.bounds.length] as number;
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: "+Inf" }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cumulative });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset() {
    this.series = new Map();
  }
}

/**
 * The metrics of one process: HTTP, database pool and (when enabled) cache, plus prom-client's process
 * defaults (CPU, resident memory, event-loop lag, GC). Every series carries the `service` label.
 *
 * With WORKERS>1 every worker's /metrics answers for the whole service (shared/src/workers.ts), merging
 * the workers the way prom-client's AggregatorRegistry does: counters and histograms are summed, gauges
 * are summed unless a metric names another `aggregator` (lab_flags is the same in every worker, so it
 * takes the first).
 * Dashboards therefore aggregate with `sum by (service, …)`, which is right for one process or many.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: RequestDurations;
  /** Requests being served; a plain number per request, read into its gauge at scrape time. */
  requestsInFlight = 0;
  readonly dbQueryDuration: Histogram<"outcome">;
  readonly cacheRequests: Counter<"result">;
  /** Cache look-ups by result: plain counts on the request path, read into cache_requests_total when scraped. */
  readonly cacheResults: Record<CacheResult, number> = { hit: 0, miss: 0, error: 0 };
  /** The text GET /metrics answers; a worker of WORKERS>1 replaces it with the merge of all workers. */
  expose: () => Promise<string> = () => this.registry.metrics();

  constructor(
    readonly service: string,
    readonly flags: Record<string, string> = {},
  ) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new RequestDurations(LATENCY_BUCKETS);
    this.registry.registerMetric(this.httpDuration as unknown as Metric);
    const inFlight = () => this.requestsInFlight;
    new Gauge({
      name: "http_requests_in_flight",
      help: "HTTP requests being served",
      registers: [this.registry],
      collect() {
        this.set(inFlight());
      },
    });
    this.dbQueryDuration = new Histogram({
      name: "db_query_duration_seconds",
      help: "Time a database unit of work held its connection",
      labelNames: ["outcome"],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    const cacheResults = this.cacheResults;
    this.cacheRequests = new Counter({
      name: "cache_requests_total",
      help: "Cache look-ups by result (hit, miss, error)",
      labelNames: ["result"],
      registers: [this.registry],
      // every result from the start, at zero, so rate() and the hit ratio exist before the first look-up
      collect() {
        this.reset();
        for (const result of CACHE_RESULTS) this.inc({ result }, cacheResults[result]);
      },
    });
    new Gauge({
      name: "lab_flags",
      help: "Active experiment flags of this process, one label each (value is always 1)",
      labelNames: Object.keys(flags),
      aggregator: "first",
      registers: [this.registry],
    }).set(flags, 1);
  }

  observeDb(db: Db) {
    db.onQuery = (seconds, ok) => this.dbQueryDuration.observe({ outcome: ok ? "ok" : "error" }, seconds);
    const registers = [this.registry];
    // Each read from the pool when scraped.
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    gauge("db_pool_size", "Connections the pool may open (DB_POOL_MAX)", () => db.max);
    gauge("db_pool_in_use", "Connections held by a unit of work", () => db.inUse);
    gauge("db_pool_waiting", "Requests waiting for a free connection", () => db.waiting);
    counter(
      "db_pool_exhausted_total",
      "Requests answered 503 because no connection came free within DB_ACQUIRE_TIMEOUT_MS",
      () => db.exhaustedTotal,
    );
    // Counters, not the sampled gauge above: a wait between two scrapes still counts (the lab's saturation signal).
    counter(
      "db_pool_waits_total",
      "Requests that queued for a free connection (granted one later, or answered 503)",
      () => db.waitsTotal,
    );
    counter(
      "db_pool_wait_seconds_total",
      "Seconds requests spent queued for a free connection, all added up",
      () => db.waitSecondsTotal,
    );
  }
}

/** Methods outside this set share one label value, so odd clients cannot add series. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** Prometheus's own scrapes are not traffic: they would show as load on an idle service. */
const SCRAPE_ROUTE = "/metrics";
/** Probes come every few seconds from machines: at `debug`, so they never drown the traffic. */
const PROBE_ROUTES = new Set(["/healthz", "/readyz"]);

/** What the metrics plugin knows of a request being served: when it arrived, its id and its route template. */
type Trail = { start: number; id: string; route: string };
const trails = new WeakMap<Request, Trail>();
/** The request's id (X-Request-Id) while it is being served; "unknown" outside the request hooks. */
export const requestIdOf = (request: Request) => trails.get(request)?.id || "unknown";

/** Called by the hooks that see the route template: the transform, and the error hook before it. */
const noteRoute = (request: Request, route: string) => {
  const trail = trails.get(request);
  if (trail) trail.route = route;
};

export type RequestTrail = {
  /** Give every request an id: the caller's X-Request-Id (first 100 characters) or a new UUID, sent back. */
  requestIds?: boolean;
  /** Write an access line per request (route, status, duration, id): `info`, probes at `debug`, scrapes never. */
  accessLog?: boolean;
};

/**
 * Times every request by its route template (never the raw path, so ids add no series; requests that
 * match no route, or fail before routing, are `unmatched`), counts the requests in flight, serves GET
 * /metrics and, as asked, gives requests their id and writes their access line.
 *
 * The timing wraps Elysia's whole handler (`wrap`) and reads the status from the Response that leaves
 * it, rather than using an after-response hook: Elysia runs those in a setImmediate and an async
 * function of their own per request, about 1.5 µs of a cached request's ~20 (docs/benchmarks.md).
 * A transform hook, and an error hook for a request failing before it, note the route template.
 */
export const metricsPlugin = (metrics: Metrics, { requestIds = false, accessLog = false }: RequestTrail = {}) => {
  const failed = (error: unknown) => {
    metrics.requestsInFlight--;
    throw error;
  };
  const finish = (request: Request, trail: Trail, response: Response) => {
    metrics.requestsInFlight--;
    if (trail.route === SCRAPE_ROUTE) return response;
    const seconds = (performance.now() - trail.start) / 1000;
    const method = KNOWN_METHODS.has(request.method) ? request.method : "other";
    const route = trail.route || "unmatched";
    const status = String(response.status);
    metrics.httpDuration.observe(method, route, status, seconds);
    if (!accessLog) return response;
    const level: Level = PROBE_ROUTES.has(route) ? "debug" : "info";
    if (logs(level)) {
      log(level, "request", {
        request_id: trail.id,
        method: request.method,
        route,
        status: response.status,
        duration_ms: Math.round(seconds * 10_000) / 10,
      });
    }
    return response;
  };
  const plugin = new Elysia({ name: "lab.metrics", seed: `${metrics.service}:${requestIds}:${accessLog}` }).wrap(
    (handle) => (request: Request) => {
      const trail: Trail = {
        start: performance.now(),
        id: requestIds ? request.headers.get("x-request-id")?.slice(0, 100) || crypto.randomUUID() : "",
        route: "",
      };
      trails.set(request, trail);
      metrics.requestsInFlight++;
      const answer = (handle as unknown as (request: Request) => Response | Promise<Response>)(request);
      if (!(answer instanceof Promise)) return finish(request, trail, answer);
      return answer.then((response) => finish(request, trail, response), failed);
    },
  );
  // on the Response as it is made, so a handler's own Response (see jsonAnswer) carries it too
  if (requestIds) {
    plugin.onRequest(({ request, set }) => {
      set.headers["x-request-id"] = requestIdOf(request);
    });
  }
  return (
    plugin
      // block bodies: Elysia reads a hook that returns a call as async and awaits it on every request
      .onTransform({ as: "global" }, ({ request, route }) => {
        noteRoute(request, route);
      })
      // a body is parsed before the transform: one that fails to parse gets its route here (before the
      // app's own error hooks, which answer, since this one returns nothing)
      .onError({ as: "global" }, ({ request, route }) => {
        noteRoute(request, route);
      })
      .get(
        "/metrics",
        async ({ set }) => {
          set.headers["content-type"] = metrics.registry.contentType;
          // the scrape being answered is not traffic in flight
          metrics.requestsInFlight--;
          try {
            return await metrics.expose();
          } finally {
            metrics.requestsInFlight++;
          }
        },
        { detail: { hide: true } },
      )
  );
};
