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

export function budgetKeyOf(runDir: string): string {
  try {
    return recordKey((JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")) as RunRecord).budgets);
  } catch {
    return UNBUDGETED;
  }
}

/** The words whose counts differ between two countings (empty when the data is the seed's). */
export function driftedTerms(actual: Record<string, number>, expected: Record<string, number>): string[] {
  const terms = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  return [...terms].filter((term) => actual[term] !== expected[term]).sort();
}
