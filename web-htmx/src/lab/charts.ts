import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { LabSnapshot, Point, SeriesName } from "./model";

const SERIES_LABELS: Record<SeriesName, string> = {
  rps: "requests/s",
  p50: "p50",
  p95: "p95",
  p99: "p99",
  errors4xx: "4xx",
  errors5xx: "5xx",
};

const time = {
  field: "time",
  type: "temporal",
  title: null,
  scale: { type: "utc" },
  axis: { format: "%H:%M:%S", labelOverlap: true, tickCount: 5 },
} as const;

const base = {
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  config: {
    font: "ui-sans-serif, system-ui, sans-serif",
    view: { stroke: "#e2e8f0" },
    legend: { orient: "bottom", columns: 3 },
  },
} as const;

const rows = (points: Point[], series: readonly SeriesName[], scale = 1) =>
  points
    .filter((p) => series.includes(p.series))
    .map((p) => ({ time: p.time, service: p.service, series: SERIES_LABELS[p.series], value: p.value * scale }));

/** One colour per service in every chart, in the order of the tables. */
const serviceColor = (snapshot: LabSnapshot) =>
  ({
    field: "service",
    type: "nominal",
    title: null,
    scale: { domain: snapshot.services.map((s) => s.service) },
  }) as const;

/** Requests per second, one line per service. */
export const requestRateSpec = (snapshot: LabSnapshot): TopLevelSpec => ({
  ...base,
  title: "Requests/s",
  width: 380,
  height: 160,
  data: { values: rows(snapshot.points, ["rps"]) },
  mark: { type: "line", interpolate: "monotone" },
  encoding: {
    x: time,
    y: { field: "value", type: "quantitative", title: "req/s" },
    color: serviceColor(snapshot),
  },
});

/** 4xx and 5xx shares of requests, one colour per service, dashed for 4xx. */
export const errorRateSpec = (snapshot: LabSnapshot): TopLevelSpec => ({
  ...base,
  title: "Error rate",
  width: 380,
  height: 160,
  data: { values: rows(snapshot.points, ["errors4xx", "errors5xx"]) },
  mark: { type: "line", interpolate: "monotone" },
  encoding: {
    x: time,
    y: { field: "value", type: "quantitative", title: "share of requests", axis: { format: "%" } },
    color: serviceColor(snapshot),
    strokeDash: { field: "series", type: "nominal", title: null, sort: ["5xx", "4xx"] },
  },
});

/** p50, p95 and p99 in milliseconds, one small chart per service. */
export const latencySpec = (snapshot: LabSnapshot): TopLevelSpec => ({
  ...base,
  title: "Latency (ms)",
  data: { values: rows(snapshot.points, ["p50", "p95", "p99"], 1000) },
  facet: { field: "service", type: "nominal", title: null },
  columns: 5,
  resolve: { scale: { y: "independent" } },
  spec: {
    width: 150,
    height: 110,
    mark: { type: "line", interpolate: "monotone" },
    encoding: {
      x: time,
      y: { field: "value", type: "quantitative", title: "ms" },
      color: { field: "series", type: "nominal", title: null, sort: ["p50", "p95", "p99"] },
    },
  },
});

/** Compiles a Vega-Lite spec and renders it to an SVG string on the server, no browser involved. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export type LabCharts = { requests: string; latency: string; errors: string };

/** The Lab page's three charts, or null while there are not yet two readings to draw a line from. */
export async function renderCharts(snapshot: LabSnapshot): Promise<LabCharts | null> {
  if (snapshot.points.length === 0) return null;
  const [requests, latency, errors] = await Promise.all(
    [requestRateSpec, latencySpec, errorRateSpec].map((spec) => renderSvg(spec(snapshot))),
  );
  return { requests: requests!, latency: latency!, errors: errors! };
}
