import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { CSV_PREFIX } from "./locust-csv";
import type { RateLoad } from "./profiles";
import { busiest, type ResourceUse, type Timeline, useOverWindow, type WindowUse } from "./resources";

/** The rate profile's own files: one row per finished step, and per step and endpoint (locustfile.py). */
export const rateFiles = (dir: string) => ({
  steps: join(dir, `${CSV_PREFIX}_steps.csv`),
  endpoints: join(dir, `${CSV_PREFIX}_steps_endpoints.csv`),
  timeline: join(dir, "timeline.json"),
});

/** A step as locustfile.py's RateSchedule measured it (times in epoch seconds, latencies in ms). */
export type RateStepRow = {
  step: number;
  offered_rps: number;
  started_at: number;
  measured_from: number;
  ended_at: number;
  measured_s: number;
  /** Slots the schedule offered in the measured window, and those that found every user busy. */
  slots: number;
  dropped: number;
  requests: number;
  failures: number;
  achieved_rps: number;
  error_ratio: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
};

export type RateEndpointRow = {
  step: number;
  name: string;
  requests: number;
  failures: number;
  p50_ms: number | null;
  p99_ms: number | null;
};

export type RateStep = RateStepRow & {
  held: boolean;
  /** Which limits a step not held broke, in words with their numbers. */
  broke: string[];
  rare_search_p99_ms: number | null;
  use: WindowUse | null;
};

export type RateResult = {
  limits: Pick<RateLoad, "p99LimitMs" | "errorLimit" | "heldShare">;
  steps: RateStep[];
  /** The highest offered rate held before the first step that was not: the run's headline. */
  knee_rps: number | null;
  first_failed_rps: number | null;
  /** The busiest resource (not the machine as a whole) at the knee and at the first failed step. */
  saturated_at_knee: ResourceUse | null;
  saturated_at_failure: ResourceUse | null;
};

const numberOrNull = (value: string | undefined) =>
  value === undefined || value === "" || value === "None" ? null : Number(value);

export async function readRateSteps(path: string): Promise<RateStepRow[]> {
  const rows: Record<string, string>[] = parse(await Bun.file(path).text(), { columns: true, skip_empty_lines: true });
  return rows.map((row) => {
    const number = (column: keyof RateStepRow) => {
      const value = Number(row[column]);
      if (row[column] === undefined || !Number.isFinite(value))
        throw new Error(`${path}: "${column}" is not a number in ${JSON.stringify(row)}`);
      return value;
    };
    return {
      step: number("step"),
      offered_rps: number("offered_rps"),
      started_at: number("started_at"),
      measured_from: number("measured_from"),
      ended_at: number("ended_at"),
      measured_s: number("measured_s"),
      slots: number("slots"),
      dropped: number("dropped"),
      requests: number("requests"),
      failures: number("failures"),
      achieved_rps: number("achieved_rps"),
      error_ratio: number("error_ratio"),
      p50_ms: number("p50_ms"),
      p95_ms: number("p95_ms"),
      p99_ms: number("p99_ms"),
      max_ms: number("max_ms"),
    };
  });
}

export async function readRateEndpoints(path: string): Promise<RateEndpointRow[]> {
  if (!(await Bun.file(path).exists())) return [];
  const rows: Record<string, string>[] = parse(await Bun.file(path).text(), { columns: true, skip_empty_lines: true });
  return rows.map((row) => ({
    step: Number(row.step),
    name: row.name ?? "",
    requests: Number(row.requests),
    failures: Number(row.failures),
    p50_ms: numberOrNull(row.p50_ms),
    p99_ms: numberOrNull(row.p99_ms),
  }));
}

/** The limits a step broke (empty when it was held), judged as the locustfile judges it. */
export function brokenLimits(step: RateStepRow, limits: RateResult["limits"]): string[] {
  const broke: string[] = [];
  if (step.requests === 0) return ["no request completed"];
  if (step.achieved_rps < limits.heldShare * step.offered_rps) {
    broke.push(`achieved ${step.achieved_rps} of ${step.offered_rps} req/s offered (< ${limits.heldShare * 100} %)`);
  }
  if (step.p99_ms > limits.p99LimitMs) broke.push(`p99 ${step.p99_ms} ms > ${limits.p99LimitMs} ms`);
  if (step.error_ratio >= limits.errorLimit) {
    broke.push(`errors ${(step.error_ratio * 100).toFixed(2)} % ≥ ${limits.errorLimit * 100} %`);
  }
  return broke;
}

/**
 * A rate run's ladder judged step by step, with each step's USE table over its measured window,
 * the knee (highest offered rate held before the first step that was not) and what was busiest there.
 */
export function analyseRate(
  rows: readonly RateStepRow[],
  limits: RateResult["limits"],
  timeline: Timeline | null,
  endpoints: readonly RateEndpointRow[] = [],
): RateResult {
  const steps: RateStep[] = [...rows]
    .sort((a, b) => a.step - b.step)
    .map((row) => {
      const broke = brokenLimits(row, limits);
      const rare = endpoints.find((endpoint) => endpoint.step === row.step && endpoint.name === "/courses?q=:rare");
      return {
        ...row,
        held: broke.length === 0,
        broke,
        rare_search_p99_ms: rare?.p99_ms ?? null,
        use: timeline ? useOverWindow(timeline, row.measured_from, row.ended_at) : null,
      };
    });
  const failedIndex = steps.findIndex((step) => !step.held);
  const held = failedIndex < 0 ? steps : steps.slice(0, failedIndex);
  const knee = held.at(-1) ?? null;
  const failed = failedIndex < 0 ? null : steps[failedIndex]!;
  return {
    limits,
    steps,
    knee_rps: knee?.offered_rps ?? null,
    first_failed_rps: failed?.offered_rps ?? null,
    saturated_at_knee: (knee?.use && busiest(knee.use)) ?? null,
    saturated_at_failure: (failed?.use && busiest(failed.use)) ?? null,
  };
}

/** Median and range of a set of numbers (the knees of repeated runs). */
export function spread(values: readonly number[]): { median: number; min: number; max: number; n: number } | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, n: sorted.length };
}
