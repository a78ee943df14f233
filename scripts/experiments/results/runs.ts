import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type BudgetRecord, type RunRecord, SUMMARY_FILE } from "./format";

/** The finished runs in an experiment's results/, and what a run's record says of how it ran. */

/** The results folders of an experiment's finished runs of a profile (summary.json is written last), oldest first. */
export async function finishedRuns(experimentDir: string, profile: string): Promise<string[]> {
  const resultsDir = join(experimentDir, "results");
  const names = (await readdir(resultsDir).catch(() => [] as string[]))
    .filter((name) => name.endsWith(`-${profile}`))
    .sort();
  const done = await Promise.all(names.map((name) => Bun.file(join(resultsDir, name, SUMMARY_FILE)).exists()));
  return names.filter((_, index) => done[index]).map((name) => join(resultsDir, name));
}

/** Whether a finished run ran under CPU budgets (run.json's `budgets`; runs from before budgets did not). */
export const isBudgeted = (runDir: string) => budgetKeyOf(runDir) !== UNBUDGETED;

export const UNBUDGETED = "unbudgeted";

/**
 * The budgets a run ran under as one comparable key (scale, period and each process's cores), or
 * "unbudgeted": runs compare, repeat and predict one another only under equal budgets.
 */
export function budgetKey(budgets: { scale: number; period_us: number; cores: Record<string, number> }): string {
  const cores = Object.entries(budgets.cores).sort(([a], [b]) => a.localeCompare(b));
  return `scale ${budgets.scale}, period ${budgets.period_us} us, ${cores.map(([name, value]) => `${name} ${value}`).join(", ")}`;
}

/** The key of a run's recorded budgets (run.json's `budgets`, absent from runs before budgets). */
export const recordKey = (budgets: BudgetRecord | undefined) =>
  !budgets || budgets.mode === "unbudgeted" ? UNBUDGETED : budgetKey({ ...budgets, cores: budgets.per_process });

/**
 * How a run's load was offered and judged (its profile's settings: ladder, windows, limits, drain) as
 * one key: a knee measured another way is not a repeat of this one.
 */
export const methodKey = (load: object | undefined) =>
  load ? JSON.stringify(load, Object.keys(load).sort()) : "no load recorded";

/** Runs compare, repeat and predict one another only under equal budgets and the same method. */
export const comparableKey = (budgetsKey: string, load: object | undefined) => `${budgetsKey}; ${methodKey(load)}`;

/** The comparable key of a recorded run (its run.json, or the summary.json that carries it). */
export const runKey = (run: Pick<RunRecord, "budgets" | "load"> | null) =>
  comparableKey(recordKey(run?.budgets), run?.load);

export function readRunRecord(runDir: string): RunRecord | null {
  try {
    return JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")) as RunRecord;
  } catch {
    return null;
  }
}

export const budgetKeyOf = (runDir: string) => recordKey(readRunRecord(runDir)?.budgets);

/**
 * A run's calibration said against the other comparable runs': a knee tests their min–max only when
 * the machine was as fast as it was for them (under a fixed CPU budget a slower machine serves fewer
 * requests).
 */
export function calibrationAgainst(hashMs: number, others: readonly number[]): string {
  if (!others.length) return `calibration ${hashMs} ms (no earlier comparable run to set it against)`;
  const low = Math.min(...others);
  const high = Math.max(...others);
  const runs = `the ${others.length} earlier comparable runs' ${low}–${high} ms`;
  if (hashMs >= low && hashMs <= high) return `calibration ${hashMs} ms, inside ${runs}`;
  const off = hashMs > high ? hashMs / high - 1 : 1 - hashMs / low;
  const way = hashMs > high ? "slower" : "faster";
  return `calibration ${hashMs} ms, ${Math.round(off * 100)} % ${way} than ${runs}: its knee does not test their range`;
}

export const comparableKeyOf = (runDir: string) => runKey(readRunRecord(runDir));

/** The words whose counts differ between two countings (empty when the data is the seed's). */
export function driftedTerms(actual: Record<string, number>, expected: Record<string, number>): string[] {
  const terms = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  return [...terms].filter((term) => actual[term] !== expected[term]).sort();
}
