/**
 * The Coursework Lab dashboard, built with Grafana's own typed builders so the JSON is a dashboard
 * Grafana accepts. `bun grafana/dashboard.ts` writes grafana/dashboards/coursework-lab.json; a test
 * checks the file matches this source and runs every query against a real Prometheus.
 *
 * Every query of the services aggregates with `sum by (service, …)` (or max for gauges that are the
 * same everywhere), so it is right for one process per service and for a /metrics that merges
 * WORKERS>1 processes. The PostgreSQL, PgBouncer and Redis rows read their exporters
 * (scripts/lib/exporters.ts, compose.yaml) and are not filtered by service.
 */
import { join } from "node:path";
import {
  LegendDisplayMode,
  LegendPlacement,
  SortOrder,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from "@grafana/grafana-foundation-sdk/common";
import {
  DashboardBuilder,
  DashboardCursorSync,
  type DataTransformerConfig,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder, PromQueryFormat } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as TablePanelBuilder } from "@grafana/grafana-foundation-sdk/table";
import { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";
import {
  activeFlagsQuery,
  errorRatio,
  HTTP_DURATION,
  perService,
  type QueryScope,
  quantile,
  requestRate,
} from "@lab/shared/promql";

export const DASHBOARD_FILE = join(import.meta.dir, "dashboards/coursework-lab.json");
/** The datasource provisioned by grafana/provisioning/datasources/prometheus.yml. */
export const DATASOURCE = { type: "prometheus", uid: "prometheus" };

const SCOPE: QueryScope = { selector: 'service=~"$service"', window: "$__rate_interval" };
const SERVICE = SCOPE.selector;
const WINDOW = `[${SCOPE.window}]`;

/** The services' databases: not the server's own (postgres, the templates, "" for shared objects); anchored regex. */
const DATABASES = 'datname!~"(postgres|template[01])?"';
/** PgBouncer's own admin console is a database in its lists too. */
const POOLED = 'database!="pgbouncer"';
const rateOf = (metric: string, selector: string) => `rate(${metric}{${selector}}${WINDOW})`;

const query = (refId: string, expr: string, legend: string) =>
  new DataqueryBuilder().datasource(DATASOURCE).refId(refId).expr(expr).legendFormat(legend).range();

const timeseries = (title: string, unit: string, description: string, queries: DataqueryBuilder[], span = 12) =>
  new TimeseriesPanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .min(0)
    .lineWidth(1)
    .fillOpacity(10)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
    .span(span)
    .height(8)
    .targets(queries);

const percentiles = (by: string, legend: string, metric = HTTP_DURATION) =>
  ([0.5, 0.95, 0.99] as const).map((q, i) =>
    query(String.fromCharCode(65 + i), quantile(q, by, SCOPE, metric), `${legend} p${Math.round(q * 100)}`),
  );

const hideTimeAndValue: DataTransformerConfig = {
  id: "organize",
  options: { excludeByName: { Time: true, Value: true }, indexByName: {}, renameByName: {} },
};

export function labDashboard() {
  const dashboard = new DashboardBuilder("Coursework Lab")
    .uid("coursework-lab")
    .description("Request rate, latency percentiles, errors, database pool, cache and process load per service")
    .tags(["coursework-lab"])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh("5s")
    .time({ from: "now-15m", to: "now" })
    .timezone("browser")
    .withVariable(
      new QueryVariableBuilder("service")
        .label("Service")
        .datasource(DATASOURCE)
        .query({ query: `label_values(${HTTP_DURATION}_count, service)`, refId: "service" })
        .definition(`label_values(${HTTP_DURATION}_count, service)`)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue(".+")
        .current({ text: "All", value: "$__all" }),
    )
    .withPanel(
      new TablePanelBuilder()
        .title("Active experiment flags")
        .description("lab_flags of each service: the flags its processes started with")
        .datasource(DATASOURCE)
        .span(24)
        .height(5)
        .withTarget(
          new DataqueryBuilder()
            .datasource(DATASOURCE)
            .refId("A")
            .expr(activeFlagsQuery(SCOPE))
            .format(PromQueryFormat.Table)
            .instant(),
        )
        .withTransformation(hideTimeAndValue),
    )
    .withRow(new RowBuilder("Traffic and errors"))
    .withPanel(
      timeseries("Requests/s per service", "reqps", "All requests of each service (scrapes of /metrics excluded)", [
        query("A", requestRate("service", SCOPE), "{{service}}"),
      ]),
    )
    .withPanel(
      timeseries("Requests/s per route", "reqps", "By route template, so ids never add series", [
        query("A", requestRate("service, method, route", SCOPE), "{{service}} {{method}} {{route}}"),
      ]),
    )
    .withPanel(
      timeseries("4xx error rate", "percentunit", "Share of requests answered 4xx (client errors)", [
        query("A", errorRatio(4, SCOPE), "{{service}}"),
      ]),
    )
    .withPanel(
      timeseries("5xx error rate", "percentunit", "Share of requests answered 5xx (503 includes pool exhaustion)", [
        query("A", errorRatio(5, SCOPE), "{{service}}"),
      ]),
    )
    .withRow(new RowBuilder("Latency"))
    .withPanel(
      timeseries(
        "Latency per service (p50 / p95 / p99)",
        "s",
        "histogram_quantile over the request duration histogram",
        percentiles("service", "{{service}}"),
      ),
    )
    .withPanel(
      timeseries(
        "Latency per route (p50 / p95 / p99)",
        "s",
        "histogram_quantile per route template",
        percentiles("service, route", "{{service}} {{route}}"),
      ),
    )
    .withRow(new RowBuilder("Database"))
    .withPanel(
      timeseries(
        "DB pool: in use / size / waiting",
        "short",
        "Connections held, the pool's size (DB_POOL_MAX × processes) and requests queued for a connection",
        [
          query("A", perService("db_pool_in_use", SCOPE), "{{service}} in use"),
          query("B", perService("db_pool_size", SCOPE), "{{service}} size"),
          query("C", perService("db_pool_waiting", SCOPE), "{{service}} waiting"),
        ],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "DB pool exhausted (503/s)",
        "reqps",
        "Requests answered 503 because no connection came free within DB_ACQUIRE_TIMEOUT_MS",
        [query("A", `sum by (service) (rate(db_pool_exhausted_total{${SERVICE}}${WINDOW}))`, "{{service}}")],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "DB unit of work duration (p50 / p95 / p99)",
        "s",
        "How long a request held its connection",
        percentiles("service", "{{service}}", "db_query_duration_seconds"),
        8,
      ),
    )
    .withRow(new RowBuilder("PostgreSQL"))
    .withPanel(
      timeseries(
        "PostgreSQL CPU",
        "percentunit",
        "CPU time per second of every PostgreSQL process, from /proc (1 = one core): what separates 01-baseline from 02-trgm-index",
        [query("A", `sum(rate(lab_postgres_cpu_seconds_total${WINDOW}))`, "PostgreSQL")],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "PostgreSQL connections by state",
        "short",
        "Backends per database: active (running a query), idle, idle in transaction",
        [
          query(
            "A",
            `sum by (datname, state) (pg_stat_activity_count{${DATABASES},state=~"active|idle|idle in transaction"})`,
            "{{datname}} {{state}}",
          ),
        ],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "PostgreSQL transactions/s",
        "ops",
        "Commits and rollbacks per database",
        [
          query(
            "A",
            `sum by (datname) (${rateOf("pg_stat_database_xact_commit", DATABASES)} + ${rateOf("pg_stat_database_xact_rollback", DATABASES)})`,
            "{{datname}}",
          ),
        ],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "PostgreSQL rows/s",
        "rowsps",
        "returned: rows scans read (a sequential scan reads the whole table); fetched: rows index scans fetched; written: inserted, updated, deleted",
        [
          query(
            "A",
            `sum by (datname) (${rateOf("pg_stat_database_tup_returned", DATABASES)})`,
            "{{datname}} returned",
          ),
          query("B", `sum by (datname) (${rateOf("pg_stat_database_tup_fetched", DATABASES)})`, "{{datname}} fetched"),
          query(
            "C",
            `sum by (datname) (${["inserted", "updated", "deleted"].map((kind) => rateOf(`pg_stat_database_tup_${kind}`, DATABASES)).join(" + ")})`,
            "{{datname}} written",
          ),
        ],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "PostgreSQL buffer cache hit ratio",
        "percentunit",
        "Blocks found in shared buffers / all blocks read; empty while a database reads nothing",
        [
          query(
            "A",
            `sum by (datname) (${rateOf("pg_stat_database_blks_hit", DATABASES)}) / (sum by (datname) (${rateOf("pg_stat_database_blks_hit", DATABASES)}) + sum by (datname) (${rateOf("pg_stat_database_blks_read", DATABASES)}))`,
            "{{datname}}",
          ),
        ],
        8,
      ),
    )
    .withPanel(
      timeseries(
        "PostgreSQL locks by mode",
        "short",
        "Locks held or awaited in the services' databases, by mode",
        [query("A", `sum by (mode) (pg_locks_count{${DATABASES}})`, "{{mode}}")],
        8,
      ),
    )
    .withRow(new RowBuilder("PgBouncer (DB_VIA_PGBOUNCER=1)"))
    .withPanel(
      timeseries(
        "PgBouncer clients: active / waiting",
        "short",
        "Client connections (the services' pool connections) linked to a server connection, and those waiting for one",
        [
          query("A", `sum by (database) (pgbouncer_pools_client_active_connections{${POOLED}})`, "{{database}} active"),
          query(
            "B",
            `sum by (database) (pgbouncer_pools_client_waiting_connections{${POOLED}})`,
            "{{database}} waiting",
          ),
        ],
        6,
      ),
    )
    .withPanel(
      timeseries(
        "PgBouncer server connections: active / idle",
        "short",
        "Connections to PostgreSQL serving a client's transaction, and those idle in the pool",
        [
          query("A", `sum by (database) (pgbouncer_pools_server_active_connections{${POOLED}})`, "{{database}} active"),
          query("B", `sum by (database) (pgbouncer_pools_server_idle_connections{${POOLED}})`, "{{database}} idle"),
        ],
        6,
      ),
    )
    .withPanel(
      timeseries(
        "PgBouncer pool usage",
        "percentunit",
        "Server connections serving a client / the pool's size (default_pool_size): 1 means clients start to wait",
        [
          query(
            "A",
            `sum by (database) (pgbouncer_pools_server_active_connections{${POOLED}}) / sum by (database) (pgbouncer_databases_pool_size{${POOLED}})`,
            "{{database}}",
          ),
        ],
        6,
      ),
    )
    .withPanel(
      timeseries(
        "PgBouncer transactions/s",
        "ops",
        "Transactions pooled per database",
        [
          query(
            "A",
            `sum by (database) (${rateOf("pgbouncer_stats_sql_transactions_pooled_total", POOLED)})`,
            "{{database}}",
          ),
        ],
        6,
      ),
    )
    .withRow(new RowBuilder("Cache"))
    .withPanel(
      timeseries("Cache hit ratio", "percentunit", "hits / all look-ups; empty while CACHE=off", [
        query(
          "A",
          `sum by (service) (rate(cache_requests_total{${SERVICE},result="hit"}${WINDOW})) / sum by (service) (rate(cache_requests_total{${SERVICE}}${WINDOW}))`,
          "{{service}}",
        ),
      ]),
    )
    .withPanel(
      timeseries("Cache look-ups/s by result", "reqps", "hit, miss, error (Redis down: served from the database)", [
        query(
          "A",
          `sum by (service, result) (rate(cache_requests_total{${SERVICE}}${WINDOW}))`,
          "{{service}} {{result}}",
        ),
      ]),
    )
    .withRow(new RowBuilder("Redis (CACHE=redis)"))
    .withPanel(
      timeseries(
        "Redis commands/s",
        "ops",
        "Commands Redis processed (the services' GET and SET)",
        [query("A", `sum(rate(redis_commands_processed_total${WINDOW}))`, "commands")],
        6,
      ),
    )
    .withPanel(
      timeseries(
        "Redis hit ratio",
        "percentunit",
        "Keyspace hits / look-ups, as Redis counts them",
        [
          query(
            "A",
            `sum(rate(redis_keyspace_hits_total${WINDOW})) / (sum(rate(redis_keyspace_hits_total${WINDOW})) + sum(rate(redis_keyspace_misses_total${WINDOW})))`,
            "hit ratio",
          ),
        ],
        6,
      ),
    )
    .withPanel(
      timeseries(
        "Redis memory",
        "bytes",
        "Memory Redis uses for data and overhead",
        [query("A", "sum(redis_memory_used_bytes)", "used")],
        6,
      ),
    )
    .withPanel(
      timeseries(
        "Redis clients",
        "short",
        "Connected clients (one per service process that caches)",
        [query("A", "sum(redis_connected_clients)", "clients")],
        6,
      ),
    )
    .withRow(new RowBuilder("Processes"))
    .withPanel(
      timeseries(
        "CPU per service",
        "percentunit",
        "CPU time per second of wall time, all processes of the service (1 = one core)",
        [query("A", `sum by (service) (rate(process_cpu_seconds_total{${SERVICE}}${WINDOW}))`, "{{service}}")],
        6,
      ),
    )
    .withPanel(
      timeseries(
        "Memory per service (RSS)",
        "bytes",
        "Resident memory, all processes of the service",
        [query("A", perService("process_resident_memory_bytes", SCOPE), "{{service}}")],
        6,
      ),
    )
    .withPanel(
      timeseries(
        "Event-loop lag p99",
        "s",
        "The slowest process of the service",
        [query("A", `max by (service) (nodejs_eventloop_lag_p99_seconds{${SERVICE}})`, "{{service}}")],
        6,
      ),
    )
    .withPanel(
      timeseries(
        "Requests in flight",
        "short",
        "Requests being served right now",
        [query("A", perService("http_requests_in_flight", SCOPE), "{{service}}")],
        6,
      ),
    )
    .build();
  // Grafana keys panel state by id; the builder leaves ids to the caller.
  for (const [index, panel] of (dashboard.panels ?? []).entries()) panel.id = index + 1;
  return dashboard;
}

if (import.meta.main) {
  await Bun.write(DASHBOARD_FILE, `${JSON.stringify(labDashboard(), null, 2)}\n`);
  console.log(`wrote ${DASHBOARD_FILE}`);
}
