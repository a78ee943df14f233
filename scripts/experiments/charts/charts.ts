import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { AGGREGATED, type HistoryRow } from "../analysis/locust-csv";
import type { CapacityResult, EndpointSummary } from "../results/format";

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

/** One rung's knees for the headline chart: median with min–max, and the knee predicted before its runs. */
export type KneeBar = { rung: string; median: number; min: number; max: number; predicted: number | null };

/** The lab's headline: each rung's knee (median, min–max over its runs) and the predicted knee beside it. */
export function kneeChart(rows: readonly KneeBar[]): TopLevelSpec {
  const rung = { field: "rung", type: "nominal", title: null, sort: rows.map((row) => row.rung) } as const;
  const rps = { type: "quantitative", title: "knee, offered req/s held (log)", scale: { type: "log" } } as const;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: "Knee per rung: median and min–max of the runs; ◆ predicted before the runs",
    width: WIDTH - 160,
    height: 200,
    data: { values: rows },
    layer: [
      {
        mark: { type: "rule", strokeWidth: 2 },
        encoding: { y: rung, x: { field: "min", ...rps }, x2: { field: "max" } },
      },
      { mark: { type: "point", filled: true, size: 90 }, encoding: { y: rung, x: { field: "median", ...rps } } },
      {
        transform: [{ filter: "datum.predicted != null" }],
        mark: { type: "point", shape: "diamond", size: 110, color: "#b00" },
        encoding: { y: rung, x: { field: "predicted", ...rps } },
      },
      {
        mark: { type: "text", align: "left", dx: 8, dy: -9 },
        encoding: { y: rung, x: { field: "max", ...rps }, text: { field: "median" } },
      },
    ],
  } as TopLevelSpec;
}

/** A step of a rung for the latency panels: achieved req/s and the p99 from the schedule (median of the runs). */
export type LatencyPoint = { rung: string; achieved: number; p99: number };

/**
 * Latency against throughput, one panel per rung so each reads at its own scale: p99 from each slot's
 * scheduled time against achieved req/s, the limit labelled, the knee marked.
 */
export function latencyPanels(points: readonly LatencyPoint[], knees: Record<string, number>, limitMs: number) {
  const values = [
    ...points.map((point) => ({ ...point, kind: "step", p99: Math.max(point.p99, 1) })),
    ...Object.keys(knees).map((rung) => ({ rung, kind: "limit", p99: limitMs, label: `${limitMs} ms limit` })),
    ...Object.entries(knees).map(([rung, knee]) => ({ rung, kind: "knee", achieved: knee, label: `knee ${knee}` })),
  ];
  const x = { field: "achieved", type: "quantitative", title: "achieved req/s" } as const;
  const y = { field: "p99", type: "quantitative", title: "p99 from the schedule, ms (log)", scale: { type: "log" } };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: "Latency against throughput, each rung at its own scale (median of the runs per step)",
    data: { values },
    facet: { field: "rung", type: "nominal", title: null, sort: [...new Set(points.map((point) => point.rung))] },
    columns: 5,
    resolve: { scale: { x: "independent" } },
    spec: {
      width: 150,
      height: 180,
      layer: [
        { transform: [{ filter: "datum.kind === 'step'" }], mark: { type: "line", point: true }, encoding: { x, y } },
        {
          transform: [{ filter: "datum.kind === 'limit'" }],
          mark: { type: "rule", strokeDash: [4, 4], color: "#b00" },
          encoding: { y },
        },
        {
          transform: [{ filter: "datum.kind === 'limit'" }],
          mark: { type: "text", align: "left", x: 2, dy: -6, color: "#b00", fontSize: 9 },
          encoding: { y, text: { field: "label" } },
        },
        {
          transform: [{ filter: "datum.kind === 'knee'" }],
          mark: { type: "rule", color: "#393" },
          encoding: { x },
        },
        {
          transform: [{ filter: "datum.kind === 'knee'" }],
          mark: { type: "text", align: "right", dx: -3, y: 8, color: "#393", fontSize: 9 },
          encoding: { x, text: { field: "label" } },
        },
      ],
    },
  } as TopLevelSpec;
}

/** One step of a run in the order it ran: what was offered, answered and dropped per second. */
export type LadderStep = { label: string; offered: number; achieved: number; dropped: number };

/** Per run: offered against achieved and dropped req/s, step by step in the order run (the bisection last). */
export function ladderChart(steps: readonly LadderStep[]): TopLevelSpec {
  const values = steps.flatMap((step) => [
    { step: step.label, series: "offered", rps: step.offered },
    { step: step.label, series: "achieved", rps: step.achieved },
    { step: step.label, series: "dropped", rps: step.dropped },
  ]);
  const order = ["offered", "achieved", "dropped"];
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: "Offered, achieved and dropped req/s per step, in the order run",
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: "bar",
    encoding: {
      x: {
        field: "step",
        type: "nominal",
        title: null,
        sort: steps.map((step) => step.label),
        axis: { labelAngle: -45 },
      },
      xOffset: { field: "series", sort: order },
      y: { field: "rps", type: "quantitative", title: "requests/s" },
      color: { field: "series", type: "nominal", title: null, sort: order },
    },
  } as TopLevelSpec;
}

/** A component's CPU over one second of a run, and its budget (null when unbudgeted). */
export type BudgetPoint = { t: number; component: string; cores: number; budget: number | null };

/** Per run: each component's CPU against its budget over time, one row per component. */
export function budgetChart(points: readonly BudgetPoint[]): TopLevelSpec {
  const x = { field: "t", type: "quantitative", title: "seconds since the ladder started" } as const;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: "CPU of each component against its budget (dashed), cores",
    data: { values: points },
    facet: { row: { field: "component", type: "nominal", title: null } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: WIDTH - 80,
      height: 50,
      layer: [
        {
          mark: { type: "line", strokeWidth: 1 },
          encoding: { x, y: { field: "cores", type: "quantitative", title: null } },
        },
        {
          transform: [{ filter: "datum.budget != null" }],
          mark: { type: "line", strokeDash: [4, 4], color: "#b00" },
          encoding: { x, y: { field: "budget", type: "quantitative" } },
        },
      ],
    },
  } as TopLevelSpec;
}
