import { join } from "node:path";
import { EXPERIMENTS_DIR, experimentNames } from "../results/flags";
import {
  type BudgetRecord,
  type ComponentCost,
  componentSlowdown,
  type KneePrediction,
  type RateResult,
  type RungPrediction,
  type RunRecord,
  SUMMARY_FILE,
} from "../results/format";
import type { ProfileSettings } from "../results/profiles";
import { finishedRuns, runKey } from "../results/runs";
import { spread } from "./rate";

/**
 * Predict, then measure: a rung's knee expected from the previous rung's measured CPU per request of
 * each component and this rung's budgets. At the knee the first budget to run out ends the ladder, so
 * the knee ≈ the smallest of budget ÷ cost per request over the budgeted components (and the
 * machine's cores ÷ everything's cost, Locust's included). Costs are read at the previous rung's knee
 * step, the same mix near the rates that matter, not averaged over a run whose mix moves with its rate.
 */

type Run = { rate?: RateResult | null; budgets?: BudgetRecord };

/**
 * How much more CPU than the reference a component needed in a run whose budgets were scaled by the
 * day's calibration (run/budgets.ts: PostgreSQL by its own, every other process, Locust's included, by
 * the machine's); 1 for runs from before that. Costs and cores divided by it are the reference's.
 */
export function slowdownFor(component: string, budgets: BudgetRecord | undefined): number {
  if (!budgets || budgets.mode === "unbudgeted" || !budgets.slowdown) return 1;
  return componentSlowdown(component, budgets.slowdown);
}

/** CPU ms per request of each process group at each run's knee step, in the reference's ms, median over the runs. */
export function costsAtKnee(runs: readonly Run[]): Record<string, number> {
  const perGroup = new Map<string, number[]>();
  for (const run of runs) {
    const knee = run.rate?.steps.find((step) => step.offered_rps === run.rate?.knee_rps);
    if (!knee?.use || knee.achieved_rps <= 0) continue;
    for (const [group, cores] of Object.entries(knee.use.cpu_cores)) {
      const cost = (cores * 1000) / knee.achieved_rps / slowdownFor(group, run.budgets);
      perGroup.set(group, [...(perGroup.get(group) ?? []), cost]);
    }
  }
  return Object.fromEntries([...perGroup].map(([group, costs]) => [group, round(spread(costs)!.median, 4)]));
}

/**
 * The knee this rung's budgets give with the costs measured before it (in the reference's ms, so this
 * run's cores are taken in reference cores too); null without costs or budgets.
 */
export function predictKnee(
  costs: Record<string, number>,
  budgets: BudgetRecord | undefined,
  machineCores: number,
): KneePrediction | null {
  if (!budgets || budgets.mode === "unbudgeted" || !Object.keys(costs).length) return null;
  const rows: ComponentCost[] = [];
  const unmeasured: string[] = [];
  for (const [component, budget] of Object.entries(budgets.components)) {
    const cores = round(budget.cores / slowdownFor(component, budgets));
    const cost = costs[component];
    if (cost === undefined || cost <= 0) {
      unmeasured.push(component);
      continue;
    }
    rows.push({ component, cpu_ms_per_request: cost, cores, limit_rps: Math.round((cores * 1000) / cost) });
  }
  const total = Object.values(costs).reduce((sum, cost) => sum + cost, 0);
  if (total > 0)
    rows.push({
      component: "machine",
      cpu_ms_per_request: round(total, 4),
      cores: round(machineCores / slowdownFor("machine", budgets)),
      limit_rps: Math.round((machineCores * 1000) / slowdownFor("machine", budgets) / total),
    });
  if (!rows.length) return null;
  rows.sort((a, b) => a.limit_rps - b.limit_rps);
  return { knee_rps: rows[0]!.limit_rps, limiting: rows[0]!.component, costs: rows, unmeasured };
}

/**
 * The knee a rung's budgets give with the CPU per request measured at the knees of the rung before's
 * finished rate runs made under the same budgets and method (runs.ts: comparableKey): null for the first rung,
 * unbudgeted runs, or a rung before with no such runs yet.
 */
export async function predictFromPrevious(
  experiment: string,
  budgets: BudgetRecord,
  load: ProfileSettings,
  machineCores: number,
): Promise<RungPrediction | null> {
  if (budgets.mode === "unbudgeted") return null;
  const names = experimentNames();
  const from = names[names.indexOf(experiment) - 1];
  if (!from) return null;
  type Finished = Run & Pick<RunRecord, "run_id" | "budgets" | "load">;
  const finished = await Promise.all(
    (await finishedRuns(join(EXPERIMENTS_DIR, from), "rate")).map(
      async (dir) => (await Bun.file(join(dir, SUMMARY_FILE)).json()) as Finished,
    ),
  );
  const key = runKey({ budgets, load });
  const comparable = finished.filter((run) => runKey(run) === key && run.rate?.knee_rps);
  const prediction = predictKnee(costsAtKnee(comparable), budgets, machineCores);
  return prediction && { ...prediction, from, runs: comparable.map((run) => run.run_id) };
}

/** How far the measured knee missed the predicted one, as a share of the prediction (+ above, − below). */
export const predictionMiss = (predicted: number, measured: number) => round((measured - predicted) / predicted, 3);

/** The rule: a miss larger than this gets a sentence on why. */
export const MISS_TO_EXPLAIN = 0.25;

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
