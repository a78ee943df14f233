import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { AGGREGATED, type HistoryRow } from "./locust-csv";
import type { CapacityResult, EndpointSummary } from "./summary";

/** Renders a Vega-Lite spec to SVG on the server (no browser, no canvas: text widths are estimated). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const WIDTH = 640;
const HEIGHT = 220;
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const base = { $schema: VEGA_LITE_SCHEMA, width: WIDTH, height: HEIGHT } as const;
const seconds = { field: "t", type: "quantitative", title: "seconds since start" } as const;

const aggregatedRows = (history: readonly HistoryRow[]) => {
  const rows = history.filter((row) => row.name === AGGREGATED);
  const origin = rows[0]?.timestamp ?? 0;
  return rows.map((row) => ({ ...row, t: row.timestamp - origin }));
};

/** p50/p95/p99 of all endpoints over Locust's 10 s window, with the capacity limit when there is one. */
export function latencyChart(history: readonly HistoryRow[], p99LimitMs?: number): TopLevelSpec {
  const values = aggregatedRows(history).flatMap((row) =>
    (["50%", "95%", "99%"] as const).flatMap((key) => {
      const ms = row.percentiles[key];
      return ms === null || ms === undefined ? [] : [{ t: row.t, percentile: `p${key.slice(0, -1)}`, ms }];
    }),
  );
  const lines = {
    mark: { type: "line", interpolate: "monotone" },
    encoding: {
      x: seconds,
      y: { field: "ms", type: "quantitative", title: "response time, ms (10 s window)" },
      color: { field: "percentile", type: "nominal", sort: ["p50", "p95", "p99"], title: null },
    },
  } as const;
  return {
    ...base,
    title: "Latency percentiles, all endpoints",
    data: { values },
    layer:
      p99LimitMs === undefined
        ? [lines]
        : [
            lines,
            {
              data: { values: [{ ms: p99LimitMs }] },
              mark: { type: "rule", strokeDash: [4, 4], color: "#b00" },
              encoding: { y: { field: "ms", type: "quantitative" } },
            },
          ],
  } as TopLevelSpec;
}

/** Requests per second and, on a second axis, the number of users. */
export function throughputChart(history: readonly HistoryRow[]): TopLevelSpec {
  const rows = aggregatedRows(history);
  return {
    ...base,
    title: "Throughput and users",
    data: { values: rows.map((row) => ({ t: row.t, rps: row.rps, users: row.users })) },
    encoding: { x: seconds },
    layer: [
      {
        mark: { type: "line", color: "#1f77b4" },
        encoding: { y: { field: "rps", type: "quantitative", title: "requests/s", axis: { titleColor: "#1f77b4" } } },
      },
      {
        mark: { type: "line", color: "#999", strokeDash: [3, 3] },
        encoding: { y: { field: "users", type: "quantitative", title: "users", axis: { titleColor: "#777" } } },
      },
    ],
    resolve: { scale: { y: "independent" } },
  } as TopLevelSpec;
}

/** Failures per second (anything not expected: 5xx, timeouts, unexpected 4xx). */
export function errorsChart(history: readonly HistoryRow[]): TopLevelSpec {
  return {
    ...base,
    title: "Failures per second",
    data: { values: aggregatedRows(history).map((row) => ({ t: row.t, failures: row.failuresPerSecond })) },
    mark: { type: "area", color: "#d62728", opacity: 0.6, line: true },
    encoding: { x: seconds, y: { field: "failures", type: "quantitative", title: "failures/s" } },
  } as TopLevelSpec;
}

/** p99 of each endpoint over time: which one degrades first. */
export function endpointLatencyChart(history: readonly HistoryRow[]): TopLevelSpec {
  const origin = history.find((row) => row.name === AGGREGATED)?.timestamp ?? history[0]?.timestamp ?? 0;
  const values = history
    .filter((row) => row.name !== AGGREGATED && row.percentiles["99%"] !== null && row.percentiles["99%"] !== undefined)
    .map((row) => ({ t: row.timestamp - origin, endpoint: `${row.method} ${row.name}`, ms: row.percentiles["99%"] }));
  return {
    ...base,
    height: 280,
    title: "p99 per endpoint (10 s window)",
    data: { values },
    mark: { type: "line", interpolate: "monotone" },
    encoding: {
      x: seconds,
      y: { field: "ms", type: "quantitative", title: "p99, ms" },
      color: {
        field: "endpoint",
        type: "nominal",
        title: null,
        legend: { orient: "bottom", columns: 2, labelLimit: 400 },
      },
    },
  } as TopLevelSpec;
}

/** Horizontal bars: one row per `row` value, one coloured bar per `group` value within it. Label limits are
 * generous because without a canvas Vega estimates text widths on the high side. */
export function groupedBarChart(options: {
  title: string;
  values: Record<string, string | number>[];
  row: string;
  group: string;
  value: string;
  valueTitle: string;
  groupOrder?: string[];
}): TopLevelSpec {
  const order = options.groupOrder ? { sort: options.groupOrder } : {};
  return {
    $schema: VEGA_LITE_SCHEMA,
    width: WIDTH - 160,
    title: options.title,
    data: { values: options.values },
    mark: "bar",
    encoding: {
      y: { field: options.row, type: "nominal", title: null, axis: { labelLimit: 400 } },
      yOffset: { field: options.group, ...order },
      x: { field: options.value, type: "quantitative", title: options.valueTitle },
      color: { field: options.group, type: "nominal", title: null, ...order },
    },
  } as TopLevelSpec;
}

/** p50/p95/p99 of every endpoint over the whole run, side by side. */
export function endpointPercentilesChart(endpoints: readonly EndpointSummary[]): TopLevelSpec {
  const values = endpoints.flatMap((endpoint) =>
    (["p50_ms", "p95_ms", "p99_ms"] as const).flatMap((key) => {
      const ms = endpoint[key];
      return ms === null ? [] : [{ endpoint: `${endpoint.method} ${endpoint.name}`, percentile: key.slice(0, 3), ms }];
    }),
  );
  return groupedBarChart({
    title: "Percentiles per endpoint, whole run",
    values,
    row: "endpoint",
    group: "percentile",
    value: "ms",
    valueTitle: "response time, ms",
    groupOrder: ["p50", "p95", "p99"],
  });
}

/** RPS and p99 of each capacity step, the limit drawn in, and the steps over it marked. */
export function capacityChart(capacity: CapacityResult): TopLevelSpec {
  const values = capacity.steps.map((step) => ({
    users: step.users,
    rps: step.rps,
    p99: step.p99_ms,
    held: step.within_limits ? "within limits" : "over limits",
  }));
  const users = { field: "users", type: "quantitative", title: "users" } as const;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: `Capacity steps (limits: p99 ≤ ${capacity.p99_limit_ms} ms, errors ≤ ${capacity.error_limit * 100}%)`,
    data: { values },
    vconcat: [
      {
        width: WIDTH,
        height: 160,
        mark: { type: "line", point: true },
        encoding: {
          x: users,
          y: { field: "rps", type: "quantitative", title: "requests/s" },
          color: { field: "held", type: "nominal", title: null },
        },
      },
      {
        width: WIDTH,
        height: 160,
        layer: [
          {
            mark: { type: "line", point: true },
            encoding: {
              x: users,
              y: { field: "p99", type: "quantitative", title: "highest p99, ms" },
              color: { field: "held", type: "nominal", title: null },
            },
          },
          {
            data: { values: [{ limit: capacity.p99_limit_ms }] },
            mark: { type: "rule", strokeDash: [4, 4], color: "#b00" },
            encoding: { y: { field: "limit", type: "quantitative" } },
          },
        ],
      },
    ],
  } as TopLevelSpec;
}
