import { parse } from "csv-parse/sync";
import type { RateEndpointRow, RateResult, RateStep, RateStepRow, StepVerdict, Timeline } from "../results/format";
import { busiest, useOverWindow } from "./resources";

/** Summaries written before verdicts were carry `held` alone. */
export const verdictOf = (step: Pick<RateStep, "held"> & { verdict?: StepVerdict }): StepVerdict =>
  step.verdict ?? (step.held ? "held" : "failed");

const numberOrNull = (value: string | undefined) =>
  value === undefined || value === "" || value === "None" ? null : Number(value);

const VERDICTS: readonly StepVerdict[] = ["held", "failed", "inconclusive"];
const NOT_RECORDED = "which limit broke was not recorded (the run predates written verdicts)";

/** The steps CSV; runs recorded before the scheduled-time and verdict columns read without them. */
export async function readRateSteps(path: string): Promise<RateStepRow[]> {
  const rows: Record<string, string>[] = parse(await Bun.file(path).text(), { columns: true, skip_empty_lines: true });
  return rows.map((row) => {
    const number = (column: string) => {
      const value = Number(row[column]);
      if (row[column] === undefined || !Number.isFinite(value))
        throw new Error(`${path}: "${column}" is not a number in ${JSON.stringify(row)}`);
      return value;
    };
    const optional = (column: string) => (row[column] === undefined ? undefined : number(column));
    const verdict = (row.verdict ??
      (row.held === "True" ? "held" : row.held === "False" ? "failed" : "")) as StepVerdict;
    if (!VERDICTS.includes(verdict)) throw new Error(`${path}: no verdict (or held) in ${JSON.stringify(row)}`);
    const reasons =
      row.reasons !== undefined ? row.reasons.split("; ").filter(Boolean) : verdict === "held" ? [] : [NOT_RECORDED];
    const basis = row.latency_basis;
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
      scheduled_p50_ms: optional("scheduled_p50_ms"),
      scheduled_p99_ms: optional("scheduled_p99_ms"),
      scheduled_max_ms: optional("scheduled_max_ms"),
      latency_basis: basis === "p99" || basis === "p95" ? basis : undefined,
      generator_cores: optional("generator_cores"),
      lag_p99_ms: optional("lag_p99_ms"),
      drained_s: optional("drained_s"),
      in_flight_after_drain: optional("in_flight_after_drain"),
      verdict,
      reasons,
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
    declared_share: numberOrNull(row.declared_share),
  }));
}

/** Each endpoint's share of a step's requests. */
function sharesOf(endpoints: readonly RateEndpointRow[]): Record<string, number> {
  const total = endpoints.reduce((sum, endpoint) => sum + endpoint.requests, 0);
  return Object.fromEntries(
    endpoints.map((endpoint) => [endpoint.name, total ? Math.round((endpoint.requests / total) * 1e4) / 1e4 : 0]),
  );
}

/**
 * A rate run's ladder as load/judge.py judged it, step by step (in the order run: the coarse ladder,
 * then the bisection), with each step's USE table over its measured window and endpoint shares, the
 * knee (highest offered rate held below the lowest failed), the peak achieved throughput and what was
 * busiest at the knee and at the lowest failed step.
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
      const own = endpoints.filter((endpoint) => endpoint.step === row.step);
      const rare = own.find((endpoint) => endpoint.name === "/courses?q=:rare");
      return {
        ...row,
        held: row.verdict === "held",
        broke: row.reasons,
        rare_search_p99_ms: rare?.p99_ms ?? null,
        shares: sharesOf(own),
        use: timeline ? useOverWindow(timeline, row.measured_from, row.ended_at) : null,
      };
    });
  const lowest = (chosen: RateStep[]) =>
    chosen.reduce<RateStep | null>((low, step) => (low && low.offered_rps <= step.offered_rps ? low : step), null);
  // The lowest step not held: failed, or inconclusive (the generator was the limit; the knee is then a lower bound).
  const notHeld = lowest(steps.filter((step) => !step.held));
  const failed = lowest(steps.filter((step) => step.verdict === "failed"));
  const knee = steps
    .filter((step) => step.held && (!notHeld || step.offered_rps < notHeld.offered_rps))
    .reduce<RateStep | null>((high, step) => (high && high.offered_rps >= step.offered_rps ? high : step), null);
  const declared = endpoints.filter((endpoint) => endpoint.step === steps[0]?.step && endpoint.declared_share !== null);
  return {
    limits,
    steps,
    knee_rps: knee?.offered_rps ?? null,
    first_failed_rps: failed?.offered_rps ?? null,
    peak_achieved_rps: steps.length ? Math.max(...steps.map((step) => step.achieved_rps)) : null,
    inconclusive_rps: notHeld?.verdict === "inconclusive" ? notHeld.offered_rps : null,
    declared_shares: declared.length
      ? Object.fromEntries(declared.map((endpoint) => [endpoint.name, endpoint.declared_share!]))
      : null,
    saturated_at_knee: (knee?.use && busiest(knee.use)) ?? null,
    saturated_at_failure: (notHeld?.use && busiest(notHeld.use)) ?? null,
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
