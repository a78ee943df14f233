/**
 * PromQL over the metrics of ./metrics.ts, shared by the Grafana dashboard (grafana/dashboard.ts) and
 * the Lab page when it reads Prometheus. Everything sums over processes and instances, so it is right
 * for one process per service and for a /metrics that merges WORKERS>1 workers.
 */

export const HTTP_DURATION = "http_request_duration_seconds";

/** Which series and over what range: Grafana passes `service=~"$service"` and `$__rate_interval`. */
export type QueryScope = { selector: string; window: string };

/** Requests per second, grouped by `by` (e.g. "service" or "service, method, route"). */
export const requestRate = (by: string, scope: QueryScope, filter = "") =>
  `sum by (${by}) (rate(${HTTP_DURATION}_count{${scope.selector}${filter}}[${scope.window}]))`;

/** Share of requests answered with a 4xx or 5xx status, per service; 0 (not "no data") when there were none. */
export const errorRatio = (statusClass: 4 | 5, scope: QueryScope) => {
  const all = requestRate("service", scope);
  return `(${requestRate("service", scope, `,status=~"${statusClass}.."`)} or ${all} * 0) / ${all}`;
};

/** The q-quantile of a duration histogram, grouped by `by` (buckets summed over everything else). */
export const quantile = (q: number, by: string, scope: QueryScope, metric = HTTP_DURATION) =>
  `histogram_quantile(${q}, sum by (${by}, le) (rate(${metric}_bucket{${scope.selector}}[${scope.window}])))`;

/** Gauges such as the pool's connections, added up over the processes of each service. */
export const perService = (metric: string, scope: QueryScope) => `sum by (service) (${metric}{${scope.selector}})`;

/** The flags labels of lab_flags (see activeFlags in ./service.ts). */
export const FLAG_LABELS = ["SEARCH_INDEX", "DB_POOL_MAX", "DB_VIA_PGBOUNCER", "CACHE", "WORKERS"] as const;

/** One series per service carrying its flags as labels (every process of a service has the same ones). */
export const activeFlagsQuery = (scope: QueryScope) =>
  `max by (service, ${FLAG_LABELS.join(", ")}) (lab_flags{${scope.selector}})`;
