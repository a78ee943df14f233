import { t } from "elysia";

/** What the Lab page plots over time, per service. */
export const SERIES = ["rps", "p50", "p95", "p99", "errors4xx", "errors5xx"] as const;
export type SeriesName = (typeof SERIES)[number];

/** One point of one service's series: `time` in ms since the epoch; ratios for errors, seconds for p*. */
export type Point = { time: number; service: string; series: SeriesName; value: number };

/** The latest numbers of one service, over the last window. Null where there was no traffic to measure. */
export const ServiceSummary = t.Object({
  service: t.String(),
  /** False when its /metrics (or Prometheus's scrape of it) did not answer. */
  up: t.Boolean(),
  rps: t.Nullable(t.Number()),
  p50: t.Nullable(t.Number()),
  p95: t.Nullable(t.Number()),
  p99: t.Nullable(t.Number()),
  errors4xx: t.Nullable(t.Number()),
  errors5xx: t.Nullable(t.Number()),
  inFlight: t.Nullable(t.Number()),
  poolInUse: t.Nullable(t.Number()),
  poolSize: t.Nullable(t.Number()),
  poolWaiting: t.Nullable(t.Number()),
  /** The experiment flags the service reports in its lab_flags metric. */
  flags: t.Record(t.String(), t.String()),
});
export type ServiceSummary = typeof ServiceSummary.static;

export const LabSnapshot = t.Object({
  /** Where the numbers come from: each service's /metrics, or Prometheus. */
  source: t.Union([t.Literal("metrics"), t.Literal("prometheus")]),
  /** Why the numbers come from another source than configured, when they do. */
  notice: t.Optional(t.String()),
  /** Seconds of traffic each summary and point is measured over. */
  windowSeconds: t.Number(),
  /**
   * A past range (`/lab?from=&to=`, ms since the epoch) the summaries cover: from Prometheus, or a
   * finished run replayed from its timeline (`run`).
   */
  range: t.Optional(t.Object({ from: t.Number(), to: t.Number(), run: t.Optional(t.String()) })),
  services: t.Array(ServiceSummary),
  points: t.Array(
    t.Object({
      time: t.Number(),
      service: t.String(),
      series: t.UnionEnum(SERIES),
      value: t.Number(),
    }),
  ),
});
export type LabSnapshot = typeof LabSnapshot.static;
