import { Elysia } from "elysia";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Db } from "./db";

/** 1 ms to 10 s, dense enough around 5–500 ms to read p50/p95/p99. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1, 1.5, 2.5,
  5, 10,
];

export const CACHE_RESULTS = ["hit", "miss", "error"] as const;

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
  readonly httpDuration: Histogram<"method" | "route" | "status">;
  /** Requests being served; a plain number per request, read into its gauge at scrape time. */
  requestsInFlight = 0;
  readonly dbQueryDuration: Histogram<"outcome">;
  readonly cacheRequests: Counter<"result">;
  /** The text GET /metrics answers; a worker of WORKERS>1 replaces it with the merge of all workers. */
  expose: () => Promise<string> = () => this.registry.metrics();

  constructor(
    readonly service: string,
    readonly flags: Record<string, string> = {},
  ) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration by route template and status",
      labelNames: ["method", "route", "status"],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
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
    this.cacheRequests = new Counter({
      name: "cache_requests_total",
      help: "Cache look-ups by result (hit, miss, error)",
      labelNames: ["result"],
      registers: [this.registry],
    });
    // Zero series from the start, so rate() and the hit ratio exist before the first look-up.
    for (const result of CACHE_RESULTS) this.cacheRequests.inc({ result }, 0);
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
    new Gauge({
      name: "db_pool_size",
      help: "Connections the pool may open (DB_POOL_MAX)",
      registers: [this.registry],
      collect() {
        this.set(db.max);
      },
    });
    new Gauge({
      name: "db_pool_in_use",
      help: "Connections held by a unit of work",
      registers: [this.registry],
      collect() {
        this.set(db.inUse);
      },
    });
    new Gauge({
      name: "db_pool_waiting",
      help: "Requests waiting for a free connection",
      registers: [this.registry],
      collect() {
        this.set(db.waiting);
      },
    });
    new Counter({
      name: "db_pool_exhausted_total",
      help: "Requests answered 503 because no connection came free within DB_ACQUIRE_TIMEOUT_MS",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(db.exhaustedTotal);
      },
    });
  }
}

const started = new WeakMap<Request, number>();

/** Methods outside this set share one label value, so odd clients cannot add series. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** Prometheus's own scrapes are not traffic: they would show as load on an idle service. */
const SCRAPE_PATH = /^[a-z]+:\/\/[^/]+\/metrics(?:\?|$)/;

/**
 * The status a client got: a handler that returns a Response (a proxy, a file) sets its status
 * there, not in `set.status`.
 */
export const statusOf = (response: unknown, status: number | string | undefined) =>
  String(response instanceof Response ? response.status : (status ?? 200));

/**
 * Times every request by its route template (never the raw path, so ids add no series; requests that
 * match no route are `unmatched`) and serves GET /metrics.
 */
export const metricsPlugin = (metrics: Metrics) =>
  new Elysia({ name: "lab.metrics", seed: metrics.service })
    .onRequest(({ request }) => {
      if (SCRAPE_PATH.test(request.url)) return;
      started.set(request, performance.now());
      metrics.requestsInFlight++;
    })
    .onAfterResponse({ as: "global" }, ({ request, route, set, responseValue }) => {
      const start = started.get(request);
      if (start === undefined) return;
      started.delete(request);
      metrics.requestsInFlight--;
      metrics.httpDuration.observe(
        {
          method: KNOWN_METHODS.has(request.method) ? request.method : "other",
          route: route || "unmatched",
          status: statusOf(responseValue, set.status),
        },
        (performance.now() - start) / 1000,
      );
    })
    .get(
      "/metrics",
      async ({ set }) => {
        set.headers["content-type"] = metrics.registry.contentType;
        return metrics.expose();
      },
      { detail: { hide: true } },
    );
