import { basename, join, relative } from "node:path";
import { medianRun, rungKnees, type Spread, versus } from "../analysis/knees";
import { MISS_TO_EXPLAIN, predictionMiss } from "../analysis/predict";
import { spread, verdictOf } from "../analysis/rate";
import { busiest, describeUse } from "../analysis/resources";
import type { KneeBar, LatencyPoint } from "../charts/charts";
import {
  changedFlags,
  EXPERIMENTS_DIR,
  experimentNames,
  type Flags,
  loadExperiment,
  variantNames,
} from "../results/flags";
import {
  type RateResult,
  type RateStep,
  REPORT_FILE,
  SUMMARY_FILE,
  type Summary,
  type WindowUse,
} from "../results/format";
import {
  driftedTerms,
  finishedRuns,
  readRunRecord,
  recordKey,
  runKey,
  SPEED_DRIFT_LIMIT,
  speedHeld,
  UNBUDGETED,
} from "../results/runs";
import { percent, table } from "./markdown";

const poolWaiting = (use: WindowUse | null) =>
  use ? Math.max(0, ...Object.values(use.services).map((s) => s.pool_waiting_max)) : 0;
/** The worst event-loop lag (p99 over prom-client's sampling) any service reported in the window. */
const eventLoopLag = (use: WindowUse | null) =>
  use ? Math.max(0, ...Object.values(use.services).map((service) => service.eventloop_lag_p99_max_ms)) : 0;
const responses503 = (use: WindowUse | null) =>
  use ? Object.values(use.services).reduce((total, service) => total + service.responses_503, 0) : 0;
/**
 * The largest share of its CPU budget that any of these process groups used (a service with N workers
 * against N processes' budgets; without budgets, against one core each).
 */
const budgetShare = (use: WindowUse | null, groups: readonly string[]) =>
  use
    ? Math.max(0, ...use.ranked.filter((r) => groups.some((g) => r.resource === `${g} CPU`)).map((r) => r.utilisation))
    : 0;
const cacheHitRatio = (use: WindowUse | null) => {
  if (!use) return null;
  const hits = Object.values(use.services).reduce((total, service) => total + service.cache_hits, 0);
  const misses = Object.values(use.services).reduce((total, service) => total + service.cache_misses, 0);
  return hits + misses ? hits / (hits + misses) : null;
};

/** The rule a held step met, in words with its numbers (runs before dropped slots were judged lack that limit). */
export function heldRule(limits: RateResult["limits"]): string {
  const dropped = limits.droppedLimit === undefined ? "" : `, dropped slots < ${limits.droppedLimit * 100} %`;
  return `achieved ≥ ${limits.heldShare * 100} % of offered${dropped}, p99 ≤ ${limits.p99LimitMs} ms, errors < ${limits.errorLimit * 100} %`;
}

/** A step's verdict in the ladder's table: held, or why not. */
const verdictText = (step: RateStep) => (step.held ? "held" : `${verdictOf(step)}: ${step.broke.join("; ")}`);

const share = (value: number | undefined) => (value === undefined ? "–" : `${(value * 100).toFixed(1)} %`);

/** Each step's endpoint shares beside the mix's declared table: the same mix at every rate. */
function mixTable(rate: RateResult): string[] {
  const names = [
    ...new Set([
      ...Object.keys(rate.declared_shares ?? {}),
      ...rate.steps.flatMap((step) => Object.keys(step.shares ?? {})),
    ]),
  ].sort();
  if (!names.length) return [];
  const rows = rate.steps.map((step) => [
    `${step.offered_rps} req/s`,
    ...names.map((name) => share(step.shares?.[name])),
  ]);
  if (rate.declared_shares) rows.unshift(["declared", ...names.map((name) => share(rate.declared_shares?.[name]))]);
  return ["Each endpoint's share of the step's requests:", "", table(["step", ...names], rows), ""];
}

/** The rate section of one run's report.md: the ladder step by step with its USE figures. */
export function rateRunMarkdown(summary: Summary): string[] {
  const rate = summary.rate;
  if (!rate) return [];
  const lines = ["## Rate ladder", ""];
  const inconclusive = rate.inconclusive_rps ?? null;
  lines.push(
    rate.knee_rps === null
      ? `**No step was held**${inconclusive === null ? "" : ` (the load generator was the limit at ${inconclusive} req/s)`}.`
      : `**Knee: ${rate.knee_rps} req/s offered and held** (${heldRule(rate.limits)}, latency from each request's scheduled time)${inconclusive === null ? "" : `; at least: the load generator, not the system, was the limit at ${inconclusive} req/s`}.`,
    "",
    `Lowest rate failed: ${rate.first_failed_rps ?? "none"} req/s; peak achieved throughput: ${rate.peak_achieved_rps ?? "–"} req/s.`,
    "",
    `Most saturated at the knee: ${describeUse(rate.saturated_at_knee ?? undefined)}; at the lowest step not held (${rate.first_failed_rps ?? inconclusive ?? "none"} req/s): ${describeUse(rate.saturated_at_failure ?? undefined)}.`,
    "",
  );
  const prediction = summary.prediction;
  if (prediction) {
    const miss = rate.knee_rps === null ? null : predictionMiss(prediction.knee_rps, rate.knee_rps);
    lines.push(
      `Predicted before the run: ${prediction.knee_rps} req/s, ${prediction.limiting} running out first (CPU per request at ${prediction.from}'s knees over ${prediction.runs.length} runs: ${prediction.costs
        .map((cost) => `${cost.component} ${cost.cpu_ms_per_request} ms`)
        .join(
          ", ",
        )})${miss === null ? "" : `; measured ${rate.knee_rps}, ${miss > 0 ? "+" : ""}${Math.round(miss * 100)} %`}.`,
      "",
    );
  }
  if (summary.data) {
    const drifted = driftedTerms(summary.data.search_terms, summary.data.expected_search_terms);
    lines.push(
      `Data: ${summary.data.source === "cloned" ? "copied from the seed's templates" : "seeded for this run and templated"} in ${summary.data.reset_ms} ms; search words matched ${drifted.length ? `**not as seeded: ${drifted.join(", ")}**` : "as seeded"} (${Object.entries(
        summary.data.search_terms,
      )
        .map(([term, n]) => `${term} ${n}`)
        .join(", ")}).`,
      "",
    );
  }
  if (summary.logins) {
    const l = summary.logins;
    lines.push(
      `Logins before the ladder: ${l.logins} in ${l.seconds} s at ${l.concurrency} at once = ${l.per_second} logins/s, ${l.identity_cpu_ms_per_login} ms of identity CPU each.`,
      "",
    );
  }
  lines.push(
    table(
      [
        "offered req/s",
        "achieved",
        "dropped slots",
        "p50 ms",
        "p99 ms",
        "p99 from the schedule, ms",
        "rare search p99 ms",
        "errors",
        "verdict",
        "busiest",
        "machine cores",
        "pool waiting",
        "503s",
        "event-loop lag p99, ms",
      ],
      rate.steps.map((step) => [
        step.offered_rps,
        step.achieved_rps,
        step.dropped,
        step.p50_ms,
        step.p99_ms,
        step.scheduled_p99_ms ?? "–",
        step.rare_search_p99_ms ?? "–",
        percent(step.error_ratio),
        verdictText(step),
        step.use ? describeUse(busiest(step.use)) : "–",
        step.use?.machine_cores ?? "–",
        poolWaiting(step.use),
        responses503(step.use),
        eventLoopLag(step.use),
      ]),
    ),
    "",
    "Every figure is over the step's measured window only (after its settle period). p50 and p99 count from each",
    "request's send; the verdict judges the p99 from its slot's scheduled time (the p95 when a step has too few",
    "responses for a p99). CPU per process group:",
    "",
    table(
      ["offered req/s", ...Object.keys(rate.steps[0]?.use?.cpu_cores ?? {})],
      rate.steps.map((step) => [
        step.offered_rps,
        ...Object.values(step.use?.cpu_cores ?? {}).map((cores) => cores.toFixed(2)),
      ]),
    ),
    "",
    ...mixTable(rate),
  );
  return lines;
}

export type RateRun = { dir: string; summary: Summary };
/** A variant of a rung (results/flags.ts): the flags it changes and its runs. */
export type VariantEntry = { name: string; changes: Partial<Flags>; runs: RateRun[] };
export type RateEntry = { name: string; change: string; runs: RateRun[]; variants?: VariantEntry[] };

/**
 * Every rate run of every experiment (repeats included), oldest first: those made under the newest
 * run's CPU budgets and method (runs.ts: comparableKey), or those made without (`budgeted` false, or when no run was budgeted).
 */
export async function collectRateRuns(root = EXPERIMENTS_DIR, budgeted?: boolean): Promise<RateEntry[]> {
  const entries: RateEntry[] = [];
  const names = experimentNames(root);
  const experiments = await Promise.all(names.map((name) => loadExperiment(name, root)));
  const dirsOf = await Promise.all(experiments.map((experiment) => finishedRuns(experiment.dir, "rate")));
  const variantsOf = await Promise.all(
    experiments.map((experiment) =>
      Promise.all(
        variantNames(experiment.dir).map(async (variant) => {
          const loaded = await loadExperiment(experiment.name, root, variant);
          return {
            name: variant,
            changes: changedFlags(experiment.flags, loaded.flags),
            dirs: await finishedRuns(loaded.dir, "rate"),
          };
        }),
      ),
    ),
  );
  // Each run.json read once (the rungs' and their variants'): its budgets, and its budgets with its method.
  const recordOf = new Map(
    [...dirsOf, ...variantsOf.flat().map((variant) => variant.dirs)].flat().map((dir) => [dir, readRunRecord(dir)]),
  );
  const unbudgeted = (dir: string) => recordKey(recordOf.get(dir)?.budgets) === UNBUDGETED;
  // Budgeted: those under the newest rung run's budgets and method, so every rung compares under the same ones.
  const newestBudgeted = dirsOf
    .flat()
    .filter((dir) => !unbudgeted(dir))
    .sort((a, b) => basename(a).localeCompare(basename(b)))
    .at(-1);
  const wanted = budgeted === false || !newestBudgeted ? null : runKey(recordOf.get(newestBudgeted)!);
  const isWanted = (dir: string) => (wanted === null ? unbudgeted(dir) : runKey(recordOf.get(dir) ?? null) === wanted);
  const read = (dirs: readonly string[]) =>
    Promise.all(
      dirs.filter(isWanted).map(async (dir) => ({
        dir,
        summary: (await Bun.file(join(dir, SUMMARY_FILE)).json()) as Summary,
      })),
    );
  for (const [index, name] of names.entries()) {
    const variants = await Promise.all(
      variantsOf[index]!.map(async (variant) => ({
        name: variant.name,
        changes: variant.changes,
        runs: await read(variant.dirs),
      })),
    );
    entries.push({ name, change: "", runs: await read(dirsOf[index]!), variants });
  }
  return entries;
}

export class DataMismatchError extends Error {}

/** Fails loudly when a run did not start from the seed's data (its search words matched other counts). */
export function assertSameData(rungs: readonly RateEntry[]) {
  // A variant's runs compare with its rung's, so they must start from the same data too.
  const entries = rungs.flatMap((rung) => [
    rung,
    ...(rung.variants ?? []).map((variant) => ({ name: `${rung.name} · ${variant.name}`, runs: variant.runs })),
  ]);
  const bad = entries.flatMap((entry) =>
    entry.runs.flatMap(({ summary }) => {
      if (!summary.data) return [`${entry.name} ${summary.run_id}: no record of its starting data`];
      const drifted = driftedTerms(summary.data.search_terms, summary.data.expected_search_terms);
      return drifted.length ? [`${entry.name} ${summary.run_id}: ${drifted.join(", ")} differ from the seed`] : [];
    }),
  );
  const counts = new Set(
    entries.flatMap((entry) =>
      entry.runs.map(({ summary }) => JSON.stringify(summary.data?.expected_search_terms ?? {})),
    ),
  );
  if (counts.size > 1) bad.push("runs were started from different seeds (their expected search-word counts differ)");
  if (bad.length)
    throw new DataMismatchError(`rate runs that did not start from the same data:\n  ${bad.join("\n  ")}`);
}

/** The median of each offered step over the repeats of one experiment. */
function medianSteps(runs: readonly RateRun[]) {
  const byRate = new Map<number, RateStep[]>();
  for (const { summary } of runs)
    for (const step of summary.rate?.steps ?? [])
      byRate.set(step.offered_rps, [...(byRate.get(step.offered_rps) ?? []), step]);
  return [...byRate.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([offered, steps]) => ({
      offered,
      runs: steps.length,
      achieved: spread(steps.map((step) => step.achieved_rps))!.median,
      p50: spread(steps.map((step) => step.p50_ms))!.median,
      p99: spread(steps.map((step) => step.p99_ms))!.median,
      scheduledP99: spread(steps.map((step) => step.scheduled_p99_ms ?? step.p99_ms))!.median,
      steps,
    }));
}

/** The headline chart's rows: each rung's knees and its predicted knee. */
export function kneeBars(entries: readonly RateEntry[]): KneeBar[] {
  return rungKnees(entries).flatMap((row) =>
    row.knee ? [{ rung: row.name, ...row.knee, predicted: row.predicted?.knee_rps ?? null }] : [],
  );
}

/** The latency panels' points: each rung's steps, median over its runs, and its median knee. */
export function latencyPoints(entries: readonly RateEntry[]): {
  points: LatencyPoint[];
  knees: Record<string, number>;
} {
  const points = entries.flatMap((entry) =>
    medianSteps(entry.runs).map((step) => ({ rung: entry.name, achieved: step.achieved, p99: step.scheduledP99 })),
  );
  const knees = Object.fromEntries(
    rungKnees(entries).flatMap((row) => (row.knee ? [[row.name, row.knee.median]] : [])),
  );
  return { points, knees };
}

/** What each rung fixes, as a metric read per step: where it appears in the rung before and what the fix does to it. */
export const RUNG_TARGETS: Record<
  string,
  { metric: string; appears: string; threshold: number; read: (step: RateStep) => number }
> = {
  "02-trgm-index": {
    metric: "rare-search p99 (ms)",
    appears: "the rare search's p99 passes the 500 ms limit",
    threshold: 500,
    read: (step) => step.rare_search_p99_ms ?? 0,
  },
  "03-pool": {
    metric: "requests waiting for a pool connection (max) + 503s",
    appears: "a request waits for a connection or gets a 503",
    threshold: 1,
    read: (step) => poolWaiting(step.use) + responses503(step.use),
  },
  "04-redis": {
    metric: "PostgreSQL CPU (share of its budget)",
    appears: "PostgreSQL uses 0.9 of its budget",
    threshold: 0.9,
    read: (step) => budgetShare(step.use, ["postgres"]),
  },
  "05-workers": {
    metric: "busiest service's CPU (share of its budget)",
    appears: "a service uses 0.9 of its budget",
    threshold: 0.9,
    read: (step) => budgetShare(step.use, ["identity", "course", "enrollment", "payment", "notification"]),
  },
};

const fmt = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));

/** For each rung: the rate at which the previous rung's bottleneck appears and what the fix does to it there. */
export function rungTargetRows(entries: readonly RateEntry[]): string[][] {
  const rows: string[][] = [];
  for (let index = 1; index < entries.length; index++) {
    const entry = entries[index]!;
    const target = RUNG_TARGETS[entry.name];
    const before = entries[index - 1]!;
    if (!target || !before.runs.length || !entry.runs.length) continue;
    const beforeSteps = medianSteps(before.runs);
    const afterSteps = medianSteps(entry.runs);
    const median = (steps: RateStep[]) => spread(steps.map(target.read))!.median;
    const appears = beforeSteps.find((step) => median(step.steps) >= target.threshold);
    const beforeKnee = spread(before.runs.map((run) => run.summary.rate?.knee_rps ?? 0))!.median;
    if (appears) {
      const after = afterSteps.find((step) => step.offered === appears.offered);
      rows.push([
        entry.name,
        target.metric,
        `${appears.offered} req/s (${target.appears})`,
        fmt(median(appears.steps)),
        after ? fmt(median(after.steps)) : "not reached",
      ]);
    } else {
      const atKnee = beforeSteps.find((step) => step.offered === beforeKnee) ?? beforeSteps.at(-1);
      const highest = Math.max(0, ...beforeSteps.map((step) => median(step.steps)));
      const busiestThere = atKnee?.steps[0]?.use ? describeUse(busiest(atKnee.steps[0].use)) : "–";
      rows.push([
        entry.name,
        target.metric,
        `never in ${before.name}: at most ${fmt(highest)} on any step (knee ${beforeKnee} req/s, busiest there: ${busiestThere})`,
        "–",
        atKnee ? fmt(median(afterSteps.find((step) => step.offered === atKnee.offered)?.steps ?? atKnee.steps)) : "–",
      ]);
    }
  }
  return rows;
}

/** Cores of each process group at one offered rate, the median over an experiment's runs (null when no run held it). */
function coresAt(runs: readonly RateRun[], offered: number): Record<string, number> | null {
  const uses = runs.flatMap(
    ({ summary }) =>
      summary.rate?.steps
        .filter((step) => step.offered_rps === offered && step.held && step.use)
        .map((step) => step.use!) ?? [],
  );
  if (!uses.length) return null;
  const groups = [...new Set(uses.flatMap((use) => Object.keys(use.cpu_cores)))];
  return Object.fromEntries(
    groups.map((group) => [group, spread(uses.map((use) => use.cpu_cores[group] ?? 0))!.median]),
  );
}

/**
 * Where a rung's median knee is below the rung before (outside that one's min–max), the CPU both used
 * at the highest rate both held: what the fix cost, group by group.
 */
export function ladderExceptions(entries: readonly RateEntry[]): string[] {
  const lines: string[] = [];
  for (let index = 1; index < entries.length; index++) {
    const before = entries[index - 1]!;
    const entry = entries[index]!;
    const kneesBefore = spread(before.runs.map((run) => run.summary.rate?.knee_rps ?? 0));
    const knees = spread(entry.runs.map((run) => run.summary.rate?.knee_rps ?? 0));
    if (!kneesBefore || !knees || knees.median >= kneesBefore.min) continue;
    const common = knees.median;
    const coresBefore = coresAt(before.runs, common);
    const coresNow = coresAt(entry.runs, common);
    let detail = "no step both held to compare";
    if (coresBefore && coresNow) {
      const server = (cores: Record<string, number>) =>
        Object.entries(cores).reduce((total, [group, value]) => (group === "locust" ? total : total + value), 0);
      const grew = [...new Set([...Object.keys(coresBefore), ...Object.keys(coresNow)])]
        .map((group) => ({ group, delta: (coresNow[group] ?? 0) - (coresBefore[group] ?? 0) }))
        .filter((row) => Math.abs(row.delta) >= 0.01)
        .sort((a, b) => b.delta - a.delta)
        .slice(0, 4)
        .map((row) => `${row.group} ${row.delta > 0 ? "+" : ""}${row.delta.toFixed(2)}`);
      detail =
        `at ${common} req/s the servers used ${server(coresNow).toFixed(2)} cores against ${server(coresBefore).toFixed(2)} ` +
        `(${((server(coresNow) * 1000) / common).toFixed(2)} against ${((server(coresBefore) * 1000) / common).toFixed(2)} CPU ms per request); ` +
        `by group: ${grew.join(", ")}`;
    }
    lines.push(
      `- **${entry.name}** holds less than ${before.name} (knee ${knees.median} req/s, ${knees.min}–${knees.max}, against ${kneesBefore.median}, ${kneesBefore.min}–${kneesBefore.max}): ${detail}.`,
    );
  }
  return lines;
}

/** A spread as "median (min–max)", "–" without one. */
const range = (value: Spread | null) => (value ? `${value.median} (${value.min}–${value.max})` : "–");

/**
 * The machine's speed while a rung's runs were made: the slowdown each run's budgets were scaled by
 * (machine, PostgreSQL), and how many runs' speed moved past SPEED_DRIFT_LIMIT before the load ended;
 * for runs from before the slowdown, their password hash (ms of CPU) before and after the load.
 */
export function speedText(runs: readonly RateRun[]): string {
  const slowdowns = runs.flatMap((run) => {
    const budgets = run.summary.budgets;
    return budgets && budgets.mode !== "unbudgeted" && budgets.slowdown ? [budgets.slowdown] : [];
  });
  if (!slowdowns.length) {
    const hashes = runs.flatMap((run) =>
      [run.summary.calibration, run.summary.calibration_after].flatMap((c) => c?.password_hash_cpu_ms ?? []),
    );
    return hashes.length ? `hash ${range(spread(hashes))} ms` : "–";
  }
  const moved = runs.filter(
    (run) => run.summary.calibration && !speedHeld(run.summary.calibration, run.summary.calibration_after).held,
  ).length;
  return [
    `machine ${range(spread(slowdowns.map((s) => s.machine)))}`,
    `PostgreSQL ${range(spread(slowdowns.map((s) => s.postgres)))}`,
    `speed moved in ${moved} of ${runs.length}`,
  ].join("; ");
}

/** A run's lowest step not held, if any. */
const lowestFailed = (summary: Summary) =>
  summary.rate?.steps.filter((step) => !step.held).sort((a, b) => a.offered_rps - b.offered_rps)[0];

/**
 * Each variant beside its rung: its knees against the rung's and the rung before's, and the rung's
 * own target metric (RUNG_TARGETS) at each one's lowest failed step, so a rung that changes two flags
 * at once shows which of them moves the knee and the metric.
 */
export function variantRows(entries: readonly RateEntry[], baseDir: string): string[][] {
  const knees = rungKnees(entries);
  return entries.flatMap((entry, index) =>
    (entry.variants ?? [])
      .filter((variant) => variant.runs.length)
      .map((variant) => {
        const row = rungKnees([variant])[0]!;
        const middle = medianRun(variant.runs)!;
        const target = RUNG_TARGETS[entry.name];
        const atFailure = (runs: readonly RateRun[]) =>
          range(
            spread(
              runs.flatMap(({ summary }) => {
                const step = lowestFailed(summary);
                return step && target ? [target.read(step)] : [];
              }),
            ),
          );
        const lowest = lowestFailed(middle.summary);
        const changes = Object.entries(variant.changes).map(([name, value]) => `${name}=${value}`);
        return [
          `[${entry.name} · ${variant.name}](${relative(baseDir, join(middle.dir, REPORT_FILE))})`,
          changes.join(", "),
          String(variant.runs.length),
          range(row.knee),
          range(row.peak),
          versus(row.knee, knees[index]!.knee),
          index ? versus(row.knee, knees[index - 1]!.knee) : "–",
          target ? `${target.metric}: ${atFailure(variant.runs)}, against ${atFailure(entry.runs)}` : "–",
          describeUse(middle.summary.rate?.saturated_at_failure ?? undefined),
          lowest ? `${lowest.offered_rps} req/s ${verdictText(lowest)}` : "none (ladder ended)",
        ];
      }),
  );
}

/** REPORT.md's rate section: knees with their spread, predicted against measured, what saturated, the rungs' own targets. */
export function rateLabMarkdown(entries: readonly RateEntry[], baseDir: string): string[] {
  assertSameData(entries);
  const lines: string[] = [];
  const knees = rungKnees(entries);
  lines.push(
    "Knee: the highest offered rate held below the lowest one failed, bisected to within 5 %; peak achieved: the",
    "most requests per second answered in any step. Two rungs whose knee ranges overlap show **no difference**.",
    "Each run's budgets are in reference cores: scaled by how much more CPU than deploy/cpu-budgets.yaml's",
    "reference this machine needed that day for the same work (slowdown, run/calibration.ts; PostgreSQL by its",
    `own scan). A run whose calibration moved more than ${SPEED_DRIFT_LIMIT * 100} % by the end of the load ran on budgets that no`,
    "longer matched the machine.",
    "",
    table(
      [
        "experiment",
        "runs",
        "knee req/s, median (min–max)",
        "peak achieved req/s, median (min–max)",
        "slowdown, median (min–max)",
        "knee against the rung before",
        "most saturated at the knee",
        "most saturated at the lowest failed step",
        "lowest step not held",
        "machine cores at the knee",
        "Locust cores at the knee",
      ],
      entries.map((entry, index) => {
        const row = knees[index]!;
        const middle = medianRun(entry.runs);
        if (!middle?.summary.rate) return [entry.name, "0", "not run yet", "", "", "", "", "", "", "", ""];
        const rate = middle.summary.rate;
        const knee = rate.steps.find((step) => step.offered_rps === rate.knee_rps);
        const lowest = lowestFailed(middle.summary);
        return [
          `[${entry.name}](${relative(baseDir, join(middle.dir, REPORT_FILE))})`,
          String(entry.runs.length),
          range(row.knee),
          range(row.peak),
          speedText(entry.runs),
          row.versus,
          describeUse(rate.saturated_at_knee ?? undefined),
          describeUse(rate.saturated_at_failure ?? undefined),
          lowest ? `${lowest.offered_rps} req/s ${verdictText(lowest)}` : "none (ladder ended)",
          knee?.use ? `${knee.use.machine_cores.toFixed(2)} of ${middle.summary.machine.cores}` : "–",
          knee?.use ? (knee.use.cpu_cores.locust ?? 0).toFixed(2) : "–",
        ];
      }),
    ),
    "",
  );
  const predicted = knees.filter((row) => row.predicted);
  if (predicted.length) {
    lines.push(
      "### Predicted, then measured",
      "",
      "Before each run the runner predicts its knee from the rung before's CPU per request at its knees and this",
      "rung's budgets: the smallest of budget ÷ cost over the components, and the machine's cores ÷ every cost",
      `(run.json's \`prediction\`). A miss beyond ${MISS_TO_EXPLAIN * 100} % is explained from the counters.`,
      "",
      table(
        ["rung", "predicted knee req/s (median of the runs')", "runs out first", "costs from", "measured knee", "miss"],
        predicted.map((row) => [
          row.name,
          String(row.predicted!.knee_rps),
          row.predicted!.limiting,
          row.predicted!.from,
          row.knee ? String(row.knee.median) : "–",
          row.miss === null ? "–" : `${row.miss > 0 ? "+" : ""}${Math.round(row.miss * 100)} %`,
        ]),
      ),
      "",
      ...predicted.flatMap((row) => (row.why ? [`- **${row.name}**: ${row.why}`] : [])),
      "",
    );
  }
  const variants = variantRows(entries, baseDir);
  if (variants.length) {
    lines.push(
      "### Variants",
      "",
      "A variant runs a rung with some of its flags changed (experiments/<rung>/variants/<variant>/flags.env,",
      "`bun run lab --only <rung> --variant <variant>`), under the same budgets and method, to tell apart",
      "what the rung changes together. Its runs stay out of the ladder above.",
      "",
      table(
        [
          "variant",
          "changes against the rung",
          "runs",
          "knee req/s, median (min–max)",
          "peak achieved req/s, median (min–max)",
          "knee against the rung",
          "knee against the rung before",
          "the rung's target metric at the lowest failed step, median (min–max): variant, against the rung",
          "most saturated at the lowest failed step (median run)",
          "lowest step not held (median run)",
        ],
        variants,
      ),
      "",
    );
  }
  const exceptions = ladderExceptions(entries);
  if (exceptions.length) {
    lines.push("### Where the ladder goes down", "", ...exceptions, "");
  }
  const targets = rungTargetRows(entries);
  if (targets.length) {
    lines.push(
      "### Each rung against its own target",
      "",
      "The metric each fix is meant to move, read per step (median of the repeats): the offered rate at which it",
      "first appears in the rung before, its value there, and its value with the fix at the same rate.",
      "",
      table(
        ["rung", "target metric", "appears in the rung before at", "value there, before", "value with the fix"],
        targets,
      ),
      "",
    );
  }
  const cache = entries.flatMap((entry) =>
    entry.runs.slice(0, 1).flatMap(({ summary }) => {
      const knee = summary.rate?.steps.find((step) => step.offered_rps === summary.rate?.knee_rps);
      const ratio = cacheHitRatio(knee?.use ?? null);
      return ratio === null || ratio === 0 ? [] : [`${entry.name} ${(ratio * 100).toFixed(1)} %`];
    }),
  );
  if (cache.length) lines.push(`Cache hit ratio over the knee step's measured window: ${cache.join(", ")}.`, "");
  const logins = entries.flatMap((entry) =>
    entry.runs.flatMap(({ summary }) => (summary.logins ? [summary.logins] : [])),
  );
  if (logins.length) {
    const perSecond = spread(logins.map((login) => login.per_second))!;
    const cpu = spread(logins.map((login) => login.identity_cpu_ms_per_login))!;
    lines.push(
      `Logins, measured on their own before every ladder (${logins[0]!.logins} accounts, ${logins[0]!.concurrency} at once): ` +
        `${perSecond.median} logins/s (${perSecond.min}–${perSecond.max}), ${cpu.median} ms of identity CPU per login (${cpu.min}–${cpu.max}), over ${logins.length} runs.`,
      "",
    );
  }
  return lines;
}
