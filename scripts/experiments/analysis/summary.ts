import { join } from "node:path";
import {
  type CapacityResult,
  type CapacityStep,
  csvFiles,
  type EndpointSummary,
  type RateResult,
  type RunRecord,
  rateFiles,
  type Summary,
  type Timeline,
} from "../results/format";
import type { ProfileSettings } from "../results/profiles";
import {
  AGGREGATED,
  type HistoryRow,
  readExceptions,
  readFailures,
  readHistory,
  readStats,
  type StatsRow,
} from "./locust-csv";
import { analyseRate, readRateEndpoints, readRateSteps } from "./rate";

/** Locust's window for the "current" percentiles in the full history (CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW). */
export const PERCENTILE_WINDOW_S = 10;
/** A load generator at this share of one core or more is treated as saturated (it runs on one core). */
export const GENERATOR_LIMIT_CORES = 0.9;

/** Where a capacity step's measurement starts: after its ramp and one full percentile window. */
export const settleSeconds = (load: { stepUsers: number; spawnRate: number }) =>
  Math.ceil(load.stepUsers / load.spawnRate) + PERCENTILE_WINDOW_S;

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

export function endpointSummary(row: StatsRow): EndpointSummary {
  return {
    method: row.method,
    name: row.name,
    requests: row.requests,
    failures: row.failures,
    failure_ratio: row.requests ? round(row.failures / row.requests, 5) : 0,
    rps: round(row.rps, 2),
    avg_ms: round(row.avgMs, 1),
    p50_ms: row.percentiles["50%"] ?? null,
    p95_ms: row.percentiles["95%"] ?? null,
    p99_ms: row.percentiles["99%"] ?? null,
    max_ms: round(row.maxMs, 1),
  };
}

/**
 * The steps of a step-load run, read from the Aggregated rows of the stats history: a stretch at one
 * user count is a step when it lasts past `settleSeconds` (the ramp to it plus Locust's 10 s
 * percentile window, so the new users' logins are behind the measured window; the ramps in between
 * are far shorter). A step is measured from there to its end: RPS and errors from the growth of the
 * total counters, p99 as the highest windowed p99 seen.
 */
export function analyseCapacity(
  history: readonly HistoryRow[],
  limits: { p99LimitMs: number; errorLimit: number },
  settleSeconds: number,
): CapacityResult {
  const rows = history.filter((row) => row.name === AGGREGATED).sort((a, b) => a.timestamp - b.timestamp);
  const origin = rows[0]?.timestamp ?? 0;
  const stretches: HistoryRow[][] = [];
  for (const row of rows) {
    const current = stretches.at(-1);
    if (current && current[0]!.users === row.users) current.push(row);
    else stretches.push([row]);
  }
  const steps: CapacityStep[] = [];
  for (const stretch of stretches) {
    const first = stretch[0]!;
    const last = stretch.at(-1)!;
    const measured = stretch.filter((row) => row.timestamp >= first.timestamp + settleSeconds);
    const from = measured[0];
    if (first.users === 0 || !from || last.timestamp <= from.timestamp) continue;
    const seconds = last.timestamp - from.timestamp;
    const requests = last.totalRequests - from.totalRequests;
    const failures = last.totalFailures - from.totalFailures;
    const p99 = Math.max(0, ...measured.map((row) => row.percentiles["99%"] ?? 0));
    const errorRatio = requests > 0 ? failures / requests : 0;
    steps.push({
      users: first.users,
      start_s: first.timestamp - origin,
      end_s: last.timestamp - origin,
      measured_s: seconds,
      requests,
      failures,
      rps: round(requests / seconds, 2),
      error_ratio: round(errorRatio, 5),
      p99_ms: p99,
      within_limits: p99 <= limits.p99LimitMs && errorRatio <= limits.errorLimit,
    });
  }
  const overIndex = steps.findIndex((step) => !step.within_limits);
  const held = overIndex < 0 ? steps : steps.slice(0, overIndex);
  return {
    p99_limit_ms: limits.p99LimitMs,
    error_limit: limits.errorLimit,
    steps,
    last_within: held.at(-1) ?? null,
    first_over: overIndex < 0 ? null : steps[overIndex]!,
    highest_rps_within_limits: held.length ? Math.max(...held.map((step) => step.rps)) : null,
  };
}

export const readRunRecord = async (dir: string): Promise<RunRecord> =>
  (await Bun.file(join(dir, "run.json")).json()) as RunRecord;

/** summary.json's content from a results folder: run.json plus Locust's CSV files. */
export async function buildSummary(dir: string): Promise<Summary> {
  const run = await readRunRecord(dir);
  const files = csvFiles(dir);
  const stats = await readStats(files.stats);
  const aggregated = stats.find((row) => row.name === AGGREGATED);
  if (!aggregated) throw new Error(`${files.stats} has no "${AGGREGATED}" row: did Locust run?`);
  const history = await readHistory(files.history);
  const generator = run.cpu.groups.locust;
  return {
    ...run,
    duration_s: round((Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000, 1),
    totals: endpointSummary(aggregated),
    endpoints: stats.filter((row) => row !== aggregated).map(endpointSummary),
    failures: await readFailures(files.failures),
    exceptions: await readExceptions(files.exceptions),
    capacity:
      run.load.kind === "step"
        ? analyseCapacity(
            history,
            { p99LimitMs: run.load.p99LimitMs, errorLimit: run.load.errorLimit },
            settleSeconds(run.load),
          )
        : null,
    rate: run.load.kind === "rate" ? await rateOf(dir, run.load) : null,
    generator_limited: (generator?.cores_peak ?? 0) >= GENERATOR_LIMIT_CORES,
  };
}

async function rateOf(dir: string, load: Extract<ProfileSettings, { kind: "rate" }>): Promise<RateResult> {
  const files = rateFiles(dir);
  const timeline = (await Bun.file(files.timeline).exists())
    ? ((await Bun.file(files.timeline).json()) as Timeline)
    : null;
  return analyseRate(
    await readRateSteps(files.steps),
    // Runs recorded before dropped slots were judged have no droppedLimit.
    {
      p99LimitMs: load.p99LimitMs,
      errorLimit: load.errorLimit,
      heldShare: load.heldShare,
      droppedLimit: load.droppedLimit,
    },
    timeline,
    await readRateEndpoints(files.endpoints),
  );
}
