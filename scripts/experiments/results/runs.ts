import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type BudgetRecord, type Calibration, type RunRecord, SUMMARY_FILE } from "./format";

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
 * "unbudgeted": runs compare, repeat and predict one another only under equal budgets. Budgets in
 * reference cores (scaled by the day's calibration, run/budgets.ts) are equal when their reference
 * cores are, whatever each run's slowdown made of them.
 */
export function budgetKey(budgets: {
  scale: number;
  period_us: number;
  cores: Record<string, number>;
  inReferenceCores: boolean;
}): string {
  const cores = Object.entries(budgets.cores).sort(([a], [b]) => a.localeCompare(b));
  const unit = budgets.inReferenceCores ? " reference cores" : "";
  return `scale ${budgets.scale}, period ${budgets.period_us} us, ${cores.map(([name, value]) => `${name} ${value}`).join(", ")}${unit}`;
}

/** The key of a run's recorded budgets (run.json's `budgets`, absent from runs before budgets). */
export const recordKey = (budgets: BudgetRecord | undefined) =>
  !budgets || budgets.mode === "unbudgeted"
    ? UNBUDGETED
    : budgets.reference_per_process
      ? budgetKey({ ...budgets, cores: budgets.reference_per_process, inReferenceCores: true })
      : budgetKey({ ...budgets, cores: budgets.per_process, inReferenceCores: false });

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

/** How far the machine's speed may move within a run (its calibration after the load against before) for its knee to count. */
export const SPEED_DRIFT_LIMIT = 0.15;

/**
 * Whether the machine kept its speed through a run: the budgets were scaled by the calibration before
 * the load, so a run whose calibration after the load differs by more than SPEED_DRIFT_LIMIT ran on
 * budgets that no longer matched the machine, and its knee does not test the others' range.
 */
export function speedHeld(before: Calibration, after: Calibration | undefined): { held: boolean; said: string } {
  if (!after) return { held: false, said: "no calibration after the load: whether the speed held is unknown" };
  const drifts = [
    ["password hash", before.password_hash_cpu_ms, after.password_hash_cpu_ms],
    ["PostgreSQL scan", before.postgres_scan_cpu_ms, after.postgres_scan_cpu_ms],
  ].flatMap(([name, from, to]) =>
    typeof from === "number" && typeof to === "number"
      ? [{ name: name as string, from, to, drift: to / from - 1 }]
      : [],
  );
  const worst = drifts.reduce((a, b) => (Math.abs(b.drift) > Math.abs(a.drift) ? b : a));
  const said = drifts.map(({ name, from, to }) => `${name} ${from} → ${to} ms`).join(", ");
  const held = Math.abs(worst.drift) <= SPEED_DRIFT_LIMIT;
  const percent = `${worst.drift > 0 ? "+" : ""}${Math.round(worst.drift * 100)} %`;
  return held
    ? { held, said: `the machine's speed held (${said}; at most ${percent})` }
    : {
        held,
        said: `the machine's speed moved ${percent} (${worst.name}) during the run (${said}): its budgets no longer matched the machine, so its knee does not test the others' range`,
      };
}

export const comparableKeyOf = (runDir: string) => runKey(readRunRecord(runDir));

/** The words whose counts differ between two countings (empty when the data is the seed's). */
export function driftedTerms(actual: Record<string, number>, expected: Record<string, number>): string[] {
  const terms = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  return [...terms].filter((term) => actual[term] !== expected[term]).sort();
}
