import { join } from "node:path";
import type { RunRecord, Timeline } from "../../../scripts/experiments/results/format";
import type { LabSnapshot, Point, ServiceSummary } from "./model";
import { MAX_RANGE_POINTS, NO_VALUES, type Reading, seriesOf, WINDOW_SECONDS, windowValues } from "./service";

/**
 * A finished experiment run on the Lab page (`/lab?run=<experiment>/<run-id>`), replayed from the
 * timeline `bun run experiment` writes beside its results: each service's /metrics read every second
 * (scripts/experiments/analysis/resources.ts). Its numbers go through the same window arithmetic as the live
 * page's, so a screenshot of a run reads like the page did while it ran.
 */

/**
 * `<experiment>/<run-id>`, as in experiments/<experiment>/results/<run-id>/, or a variant's
 * `<experiment>/variants/<variant>/<run-id>`.
 */
const RUN_NAME = /^(\d\d-[a-z0-9-]+(?:\/variants\/[a-z0-9-]+)?)\/(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-[a-z]+)$/;

/** What the page reads of run.json and timeline.json (scripts/experiments/results/format.ts). */
type RunTimes = Pick<RunRecord, "flags" | "started_at" | "finished_at">;
type RunTimeline = Pick<Timeline, "metrics" | "latency_bounds">;

export class RunNotFoundError extends Error {}

/** The latest time a Date holds (ms since the epoch): past it the page's UTC times cannot be written. */
const LATEST_TIME = 8_640_000_000_000_000;

/** ms since the epoch; undefined for an absent bound, NaN for one that is not a whole number a Date holds. */
export function rangeBound(value: string | undefined) {
  if (value === undefined || value === "") return undefined;
  const time = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  return time <= LATEST_TIME ? time : Number.NaN;
}

const readJson = async <T>(file: string, run: string): Promise<T> => {
  try {
    return (await Bun.file(file).json()) as T;
  } catch {
    throw new RunNotFoundError(
      `No run ${run} with a timeline: experiments/<experiment>/results/<run-id>/ needs run.json and timeline.json`,
    );
  }
};

/** A run's numbers from `from` to `to` (ms since the epoch; the run's start and end by default). */
export async function runSnapshot(
  experimentsDir: string,
  run: string,
  range: { from?: number; to?: number } = {},
): Promise<LabSnapshot> {
  const match = RUN_NAME.exec(run);
  if (!match)
    throw new RunNotFoundError(
      `No run ${run}: a run is named <experiment>/<run-id>, e.g. 02-trgm-index/2026-11-30T10-59-01Z-rate`,
    );
  const dir = join(experimentsDir, match[1] as string, "results", match[2] as string);
  const record = await readJson<RunTimes>(join(dir, "run.json"), run);
  const timeline = await readJson<RunTimeline>(join(dir, "timeline.json"), run);
  const from = range.from ?? Date.parse(record.started_at);
  const to = range.to ?? Date.parse(record.finished_at);
  const windowMs = WINDOW_SECONDS * 1000;
  const bounds = timeline.latency_bounds;
  // Timelines written before the page could replay runs have no latency histogram and no 4xx/5xx split.
  const complete =
    bounds !== undefined &&
    timeline.metrics.some((sample) => Object.values(sample.services).some((p) => p.latency_buckets));

  const names = [...new Set(timeline.metrics.flatMap((sample) => Object.keys(sample.services)))];
  const points: Point[] = [];
  const services = names.map((service): ServiceSummary => {
    const readings: Reading[] = timeline.metrics.flatMap(({ at, services }) => {
      const point = services[service];
      const time = at * 1000;
      if (!point || time < from - windowMs || time > to) return [];
      return [
        {
          time,
          requests: point.responses_total,
          errors4xx: point.responses_4xx_total ?? 0,
          errors5xx: point.responses_5xx_total ?? point.responses_503_total,
          buckets:
            bounds && point.latency_buckets
              ? [
                  ...bounds.map((le, index): [number, number] => [le, point.latency_buckets?.[index] ?? 0]),
                  [Number.POSITIVE_INFINITY, point.responses_total],
                ]
              : [],
          inFlight: null,
          poolInUse: point.pool_in_use,
          poolSize: point.pool_size,
          poolWaiting: point.pool_waiting,
          flags: record.flags,
        },
      ];
    });
    const series = seriesOf(service, readings, windowMs, Math.max(1, Math.ceil(readings.length / MAX_RANGE_POINTS)));
    points.push(...series.points.filter((point) => point.time >= from && (complete || point.series !== "errors4xx")));
    const inside = readings.filter((reading) => reading.time >= from);
    const first = inside[0];
    const last = inside.at(-1);
    const whole = first && last && last !== first ? windowValues(first, last) : NO_VALUES;
    return {
      service,
      up: last !== undefined,
      ...whole,
      errors4xx: complete ? whole.errors4xx : null,
      inFlight: null,
      poolInUse: last?.poolInUse ?? null,
      poolSize: last?.poolSize ?? null,
      poolWaiting: last?.poolWaiting ?? null,
      flags: record.flags,
    };
  });
  return {
    source: "metrics",
    notice: complete
      ? undefined
      : "This run's timeline was recorded before it kept latency and 4xx figures: no latency here (see the run's report.md), and 5xx counts its 503s.",
    windowSeconds: WINDOW_SECONDS,
    range: { run, from, to },
    services,
    points,
  };
}

/**
 * Rendered replays, by run and range: replaying costs about 155 ms of CPU (reading the timeline,
 * the window arithmetic, the charts) and a run's files do not change once written, so each page is
 * rendered once. Keeps the `size` most recently used; requests for one page while it renders share
 * that rendering, and a rendering that fails (no such run yet) is not kept.
 */
export class ReplayCache {
  private readonly pages = new Map<string, Promise<string>>();

  constructor(private readonly size: number) {}

  get(key: string, render: () => Promise<string>): Promise<string> {
    let page = this.pages.get(key);
    // a Map iterates in insertion order: moved to the end, a hit is the most recent
    if (page) this.pages.delete(key);
    else {
      page = render();
      page.catch(() => {
        if (this.pages.get(key) === page) this.pages.delete(key);
      });
    }
    this.pages.set(key, page);
    for (const oldest of this.pages.keys()) {
      if (this.pages.size <= this.size) break;
      this.pages.delete(oldest);
    }
    return page;
  }
}
