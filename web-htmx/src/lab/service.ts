import { parseSamples } from "@lab/shared/exposition";
import {
  activeFlagsQuery,
  errorRatio,
  FLAG_LABELS,
  HTTP_DURATION,
  perService,
  type QueryScope,
  quantile,
  requestRate,
} from "@lab/shared/promql";
import { type LabSnapshot, type Point, SERIES, type SeriesName, type ServiceSummary } from "./model";

/** Seconds each rate and percentile is measured over (Prometheus's rate window for the Lab page). */
export const WINDOW_SECONDS = 10;
/** How far back the charts go. */
export const HISTORY_SECONDS = 300;
/** Points drawn per service and series at most over a past range: a ten-minute run is one every few seconds. */
export const MAX_RANGE_POINTS = 240;
const QUANTILES = { p50: 0.5, p95: 0.95, p99: 0.99 } as const;

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;
export type SourceOptions = {
  windowSeconds?: number;
  historySeconds?: number;
  /** Longest wait for a /metrics or a Prometheus answer. */
  timeoutMs?: number;
  now?: () => number;
  fetch?: Fetch;
};

/** A source of the Lab page's numbers: each service's /metrics, or Prometheus. */
export interface LabSource {
  snapshot(): Promise<LabSnapshot>;
}

/** A service's cumulative request counts and current gauges at one moment, as its /metrics reported them. */
export type Reading = {
  time: number;
  requests: number;
  errors4xx: number;
  errors5xx: number;
  /** Cumulative request counts by bucket upper bound in seconds, ascending, the last one +Inf. */
  buckets: [number, number][];
  inFlight: number | null;
  poolInUse: number | null;
  poolSize: number | null;
  poolWaiting: number | null;
  flags: Record<string, string>;
};

type WindowValues = Record<SeriesName, number | null>;
export const NO_VALUES: WindowValues = { rps: null, p50: null, p95: null, p99: null, errors4xx: null, errors5xx: null };

/** Parses a /metrics text into the totals the Lab page needs: every route, method and status added up. */
export function readMetrics(text: string, time: number): Reading {
  const samples = parseSamples(text);
  const total = (name: string) => {
    const matching = samples.filter((sample) => sample.name === name);
    return matching.length ? matching.reduce((sum, sample) => sum + sample.value, 0) : null;
  };
  const reading: Reading = {
    time,
    requests: 0,
    errors4xx: 0,
    errors5xx: 0,
    buckets: [],
    inFlight: total("http_requests_in_flight"),
    poolInUse: total("db_pool_in_use"),
    poolSize: total("db_pool_size"),
    poolWaiting: total("db_pool_waiting"),
    flags: {},
  };
  const buckets = new Map<number, number>();
  for (const { name, labels, value } of samples) {
    if (name === `${HTTP_DURATION}_count`) {
      reading.requests += value;
      if (labels.status?.startsWith("4")) reading.errors4xx += value;
      if (labels.status?.startsWith("5")) reading.errors5xx += value;
    } else if (name === `${HTTP_DURATION}_bucket` && labels.le) {
      const le = Number(labels.le === "+Inf" ? Number.POSITIVE_INFINITY : labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + value);
    } else if (name === "lab_flags") {
      for (const [flag, setting] of Object.entries(labels)) if (flag !== "service") reading.flags[flag] = setting;
    }
  }
  reading.buckets = [...buckets].sort(([a], [b]) => a - b);
  return reading;
}

/**
 * The q-quantile of cumulative bucket counts, interpolated linearly inside its bucket exactly as
 * Prometheus's histogram_quantile does; null without observations.
 */
export function histogramQuantile(q: number, buckets: [number, number][]): number | null {
  const observations = buckets.at(-1)?.[1] ?? 0;
  if (buckets.length < 2 || observations <= 0) return null;
  let rank = q * observations;
  const index = buckets.findIndex(([, count]) => count >= rank);
  if (index === buckets.length - 1) return buckets[buckets.length - 2]![0];
  const [upper, count] = buckets[index]!;
  const [lower, below] = index > 0 ? buckets[index - 1]! : [0, 0];
  rank -= below;
  return lower + (upper - lower) * (rank / (count - below));
}

/** Rates, percentiles and error shares between two readings of one service. */
export function windowValues(from: Reading, to: Reading): WindowValues {
  const seconds = (to.time - from.time) / 1000;
  // A process that restarted counts from zero again; rate() in Prometheus assumes the same.
  const base = to.requests < from.requests ? undefined : from;
  const requests = to.requests - (base?.requests ?? 0);
  const before = new Map(base?.buckets);
  const deltas = to.buckets.map(([le, count]): [number, number] => [le, count - (before.get(le) ?? 0)]);
  const share = (now: number, then = 0) => (requests > 0 ? (now - then) / requests : null);
  return {
    rps: seconds > 0 ? requests / seconds : null,
    p50: histogramQuantile(QUANTILES.p50, deltas),
    p95: histogramQuantile(QUANTILES.p95, deltas),
    p99: histogramQuantile(QUANTILES.p99, deltas),
    errors4xx: share(to.errors4xx, base?.errors4xx),
    errors5xx: share(to.errors5xx, base?.errors5xx),
  };
}

/**
 * Reads each service's /metrics when asked (at most once a second, however many pages poll) and keeps
 * a few minutes of readings in memory; every point is measured over the last `windowSeconds`.
 */
export class MetricsSource implements LabSource {
  private readonly readings = new Map<string, Reading[]>();
  private readonly down = new Set<string>();
  private sampling?: Promise<void>;
  private sampledAt = Number.NEGATIVE_INFINITY;
  private readonly windowMs: number;
  private readonly historyMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly fetch: Fetch;

  constructor(
    private readonly targets: Record<string, string>,
    options: SourceOptions = {},
  ) {
    this.windowMs = (options.windowSeconds ?? WINDOW_SECONDS) * 1000;
    this.historyMs = (options.historySeconds ?? HISTORY_SECONDS) * 1000;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.fetch = options.fetch ?? fetch;
  }

  async snapshot(): Promise<LabSnapshot> {
    await this.refresh();
    const points: Point[] = [];
    const services: ServiceSummary[] = [];
    for (const service of Object.keys(this.targets)) {
      const readings = this.readings.get(service) ?? [];
      const series = seriesOf(service, readings, this.windowMs);
      points.push(...series.points);
      const latest = series.latest;
      const last = readings.at(-1);
      const up = last !== undefined && !this.down.has(service);
      services.push({
        service,
        up,
        ...(up ? latest : NO_VALUES),
        inFlight: up ? last.inFlight : null,
        poolInUse: up ? last.poolInUse : null,
        poolSize: up ? last.poolSize : null,
        poolWaiting: up ? last.poolWaiting : null,
        flags: last?.flags ?? {},
      });
    }
    return { source: "metrics", windowSeconds: this.windowMs / 1000, services, points };
  }

  private refresh(): Promise<void> {
    if (this.sampling) return this.sampling;
    if (this.now() - this.sampledAt < 1000) return Promise.resolve();
    this.sampling = this.sample().finally(() => {
      this.sampling = undefined;
    });
    return this.sampling;
  }

  private async sample() {
    await Promise.all(
      Object.entries(this.targets).map(async ([service, url]) => {
        try {
          const response = await this.fetch(`${url}/metrics`, { signal: AbortSignal.timeout(this.timeoutMs) });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const reading = readMetrics(await response.text(), this.now());
          const kept = (this.readings.get(service) ?? []).filter((r) => reading.time - r.time <= this.historyMs);
          this.readings.set(service, [...kept, reading]);
          this.down.delete(service);
        } catch {
          this.down.add(service);
        }
      }),
    );
    this.sampledAt = this.now();
  }
}

/** The earliest reading within the window before `index`; the one just before when polls are sparse. */
function windowStart(readings: Reading[], index: number, windowMs: number): Reading | undefined {
  const end = readings[index]!.time;
  const first = readings.findIndex((r) => end - r.time <= windowMs);
  if (first < index) return readings[first];
  const previous = readings[index - 1]!;
  return end - previous.time <= 3 * windowMs ? previous : undefined;
}

/**
 * One service's points, each measured over the `windowMs` before its reading, and the last values;
 * `every` keeps one reading in that many (a long run's replay need not draw every second).
 */
export function seriesOf(service: string, readings: Reading[], windowMs: number, every = 1) {
  const points: Point[] = [];
  let latest = NO_VALUES;
  for (let index = 1; index < readings.length; index++) {
    if ((readings.length - 1 - index) % every !== 0) continue;
    const to = readings[index]!;
    const from = windowStart(readings, index, windowMs);
    latest = from ? windowValues(from, to) : NO_VALUES;
    for (const series of SERIES) {
      const value = latest[series];
      if (value !== null) points.push({ time: to.time, service, series, value });
    }
  }
  return { points, latest };
}

type PrometheusResult = { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] };

/** Asks Prometheus (PROMETHEUS_URL) for the same numbers, with the dashboard's PromQL. */
export class PrometheusSource implements LabSource {
  private readonly windowSeconds: number;
  private readonly historySeconds: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly fetch: Fetch;
  private readonly scope: QueryScope;

  constructor(
    private readonly url: string,
    private readonly services: string[],
    options: SourceOptions = {},
  ) {
    this.windowSeconds = options.windowSeconds ?? WINDOW_SECONDS;
    this.historySeconds = options.historySeconds ?? HISTORY_SECONDS;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.now = options.now ?? Date.now;
    this.fetch = options.fetch ?? fetch;
    this.scope = { selector: `service=~"${services.join("|")}"`, window: `${this.windowSeconds}s` };
  }

  async snapshot(): Promise<LabSnapshot> {
    const end = this.now() / 1000;
    return this.read({ start: end - this.historySeconds, end, step: 2 });
  }

  /**
   * The same numbers over a past range (ms since the epoch): each chart point over the window before
   * it, the table over the whole range, the gauges and flags as they were at its end.
   */
  async snapshotOver(from: number, to: number): Promise<LabSnapshot> {
    const start = from / 1000;
    const end = to / 1000;
    const step = Math.max(2, Math.ceil((end - start) / MAX_RANGE_POINTS));
    const snapshot = await this.read({ start, end, step }, `${Math.max(1, Math.round(end - start))}s`);
    return { ...snapshot, range: { from, to } };
  }

  /** `whole`: the table's numbers over that window ending at `range.end`, not the last point's. */
  private async read(range: { start: number; end: number; step: number }, whole?: string): Promise<LabSnapshot> {
    const seriesQueries = (scope: QueryScope): Record<SeriesName, string> => ({
      rps: requestRate("service", scope),
      p50: quantile(QUANTILES.p50, "service", scope),
      p95: quantile(QUANTILES.p95, "service", scope),
      p99: quantile(QUANTILES.p99, "service", scope),
      errors4xx: errorRatio(4, scope),
      errors5xx: errorRatio(5, scope),
    });
    const gauges = {
      inFlight: perService("http_requests_in_flight", this.scope),
      poolInUse: perService("db_pool_in_use", this.scope),
      poolSize: perService("db_pool_size", this.scope),
      poolWaiting: perService("db_pool_waiting", this.scope),
    };
    const at = { time: range.end };
    const current = seriesQueries(this.scope);
    const overall = whole ? seriesQueries({ ...this.scope, window: whole }) : undefined;
    const [series, totals, gaugeResults, flags, up] = await Promise.all([
      Promise.all(SERIES.map((name) => this.query(current[name], range))),
      overall ? Promise.all(SERIES.map((name) => this.query(overall[name], at))) : undefined,
      Promise.all(Object.values(gauges).map((expr) => this.query(expr, at))),
      this.query(activeFlagsQuery(this.scope), at),
      this.query(`max by (job) (up{job=~"${this.services.join("|")}"})`, at),
    ]);
    const points: Point[] = [];
    SERIES.forEach((name, index) => {
      for (const result of series[index]!) {
        for (const [time, value] of result.values ?? []) {
          const number = Number(value);
          if (Number.isFinite(number))
            points.push({ time: time * 1000, service: result.metric.service!, series: name, value: number });
        }
      }
    });
    const instant = (results: PrometheusResult[], service: string, label = "service") => {
      const value = Number(results.find((r) => r.metric[label] === service)?.value?.[1]);
      return Number.isFinite(value) ? value : null;
    };
    const services = this.services.map((service): ServiceSummary => {
      const latest = (name: SeriesName) =>
        totals
          ? instant(totals[SERIES.indexOf(name)]!, service)
          : (points.findLast(
              (p) => p.service === service && p.series === name && p.time >= (range.end - this.windowSeconds) * 1000,
            )?.value ?? null);
      const flagLabels = flags.find((r) => r.metric.service === service)?.metric ?? {};
      return {
        service,
        up: instant(up, service, "job") === 1,
        rps: latest("rps"),
        p50: latest("p50"),
        p95: latest("p95"),
        p99: latest("p99"),
        errors4xx: latest("errors4xx"),
        errors5xx: latest("errors5xx"),
        inFlight: instant(gaugeResults[0]!, service),
        poolInUse: instant(gaugeResults[1]!, service),
        poolSize: instant(gaugeResults[2]!, service),
        poolWaiting: instant(gaugeResults[3]!, service),
        flags: Object.fromEntries(FLAG_LABELS.flatMap((name) => (flagLabels[name] ? [[name, flagLabels[name]]] : []))),
      };
    });
    return { source: "prometheus", windowSeconds: this.windowSeconds, services, points };
  }

  /** An instant query (at `time`, or now) or, with `step`, a range query. */
  private async query(expr: string, params: { start?: number; end?: number; step?: number; time?: number } = {}) {
    const search = new URLSearchParams({ query: expr });
    for (const [key, value] of Object.entries(params)) search.set(key, String(value));
    const range = params.step !== undefined;
    const response = await this.fetch(`${this.url}/api/v1/${range ? "query_range" : "query"}?${search}`, {
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const body = (await response.json()) as { status: string; error?: string; data?: { result: PrometheusResult[] } };
    if (body.status !== "success" || !body.data) throw new Error(`Prometheus refused ${expr}: ${body.error}`);
    return body.data.result;
  }
}

/** Prometheus when PROMETHEUS_URL is set and answers; each service's /metrics otherwise. */
export class LabNumbers {
  constructor(
    private readonly direct: MetricsSource,
    private readonly prometheus?: PrometheusSource,
  ) {}

  async snapshot(): Promise<LabSnapshot> {
    if (!this.prometheus) return this.direct.snapshot();
    try {
      return await this.prometheus.snapshot();
    } catch (error) {
      const snapshot = await this.direct.snapshot();
      const reason = error instanceof Error ? error.message : String(error);
      return { ...snapshot, notice: `Prometheus did not answer (${reason}); reading each service's /metrics instead.` };
    }
  }
}
