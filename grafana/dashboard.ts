/**
 * The Coursework Lab dashboard, built with Grafana's own typed builders so the JSON is a dashboard
 * Grafana accepts. `bun grafana/dashboard.ts` writes grafana/dashboards/coursework-lab.json; a test
 * checks the file matches this source and runs every query against a real Prometheus.
 *
 * Every query aggregates with `sum by (service, …)` (or max for gauges that are the same everywhere),
 * so it is right for one process per service and for a /metrics that merges WORKERS>1 processes.
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
