/**
 * The rate profile on RECORDED data: fixtures/rate is a run of 02-trgm-index on the small seed with a
 * short ladder (20 and 50 req/s held, 3,000 req/s offered to 30 users: not held), recorded with the
 * runner on this machine before steps carried their verdict (its CSV has `held` alone, as the
 * committed runs under experiments/ do). Covers reading verdicts (load/judge.py writes them; nothing
 * here judges a step), window-only USE figures, repeats and spread, the lab report's same-data check
 * and the progress line.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyseRate, readRateEndpoints, readRateSteps, spread } from "../../scripts/experiments/analysis/rate";
import { busiest, deltaOver, useOverWindow, valueAt } from "../../scripts/experiments/analysis/resources";
import { buildSummary } from "../../scripts/experiments/analysis/summary";
import { writeLabReport } from "../../scripts/experiments/report/lab-report";
import {
  assertSameData,
  collectRateRuns,
  DataMismatchError,
  ladderExceptions,
  type RateEntry,
  rungTargetRows,
  variantRows,
} from "../../scripts/experiments/report/rate-report";
import { writeRunReport } from "../../scripts/experiments/report/run-report";
import {
  type RateStepRow,
  type RunRecord,
  rateFiles,
  type StepVerdict,
  type Summary,
  type Timeline,
} from "../../scripts/experiments/results/format";
import { budgetKey, budgetKeyOf, comparableKeyOf, speedHeld } from "../../scripts/experiments/results/runs";
import { progressText } from "../../scripts/experiments/run/progress";
import { freePorts } from "../../scripts/experiments/run/runner";
import { runSnapshot } from "../../web-htmx/src/lab/run";

const FIXTURE = join(import.meta.dir, "fixtures", "rate");
const scratch = await mkdtemp(join(tmpdir(), "lab-rate-"));
afterAll(() => rm(scratch, { recursive: true, force: true }));
const LIMITS = { p99LimitMs: 500, errorLimit: 0.01, heldShare: 0.95, droppedLimit: 0.01 };

describe("the rate ladder of a recorded run", () => {
  test("offered vs achieved: held steps got what was offered, the overloaded one dropped slots", async () => {
    const rows = await readRateSteps(rateFiles(FIXTURE).steps);
    expect(rows.map((row) => row.offered_rps)).toEqual([20, 50, 3000]);
    for (const row of rows) {
      // The schedule offered rate × measured seconds slots in the window, whatever the server did.
      expect(Math.abs(row.slots - row.offered_rps * row.measured_s)).toBeLessThanOrEqual(1);
      expect(row.achieved_rps).toBeCloseTo(row.requests / row.measured_s, 1);
    }
    const [low, mid, over] = rows;
    expect(low!.achieved_rps).toBeGreaterThanOrEqual(0.95 * low!.offered_rps);
    expect(mid!.achieved_rps).toBeGreaterThanOrEqual(0.95 * mid!.offered_rps);
    expect(over!.dropped).toBeGreaterThan(0);
    expect(over!.achieved_rps).toBeLessThan(0.95 * over!.offered_rps);
  });

  test("the knee is the highest offered rate held before the first step that was not", async () => {
    const summary = await buildSummary(FIXTURE);
    const rate = summary.rate!;
    expect(rate.steps.map((step) => step.held)).toEqual([true, true, false]);
    expect(rate.knee_rps).toBe(50);
    expect(rate.first_failed_rps).toBe(3000);
    // Recorded before verdicts were written: the CSV's held column, and no reasons made up here.
    expect(rate.steps.map((step) => step.verdict)).toEqual(["held", "held", "failed"]);
    expect(rate.steps[2]!.broke.join()).toContain("not recorded");
    expect(rate.steps[0]!.scheduled_p99_ms).toBeUndefined();
    // Each step carries the USE table of its own window and names what was busiest.
    for (const step of rate.steps) {
      expect(step.use!.from).toBe(step.measured_from);
      expect(step.use!.cpu_cores.postgres).toBeGreaterThan(0);
      expect(step.use!.ranked[0]!.utilisation).toBeGreaterThanOrEqual(step.use!.ranked.at(-1)!.utilisation);
    }
    expect(rate.saturated_at_knee?.resource).toBeString();
    expect(rate.saturated_at_failure?.resource).not.toBe("machine CPU");
  });
});

describe("verdicts written by load/judge.py", () => {
  const columns =
    "step,offered_rps,started_at,measured_from,ended_at,measured_s,slots,dropped,dropped_ratio,requests,failures,achieved_rps,error_ratio,p50_ms,p95_ms,p99_ms,max_ms,scheduled_p50_ms,scheduled_p95_ms,scheduled_p99_ms,scheduled_max_ms,latency_basis,generator_cores,lag_p99_ms,verdict,reasons,held";
  const csv = [
    columns,
    "0,5.0,100,101,131,30.0,150,0,0.0,150,0,5.0,0.0,2,90,149,152,3,95,160,900,p95,0.05,0.3,held,,True",
    "1,100.0,131,132,162,30.0,3000,45,0.015,2955,0,98.5,0.0,2,9,30,80,3,12,40,95,p99,0.4,1.2,failed,dropped 45 of 3000 slots (1.50 % ≥ 1 %),False",
    "2,2000.0,162,163,193,30.0,60000,0,0.0,60000,0,2000.0,0.0,9,40,90,200,12,80,640,900,p99,0.96,80.0,inconclusive,generator at 0.96 of a core (≥ 0.9); p99 from the schedule 640 ms > 500 ms,False",
  ].join("\n");
  const endpoints = [
    "step,offered_rps,name,requests,failures,p50_ms,p99_ms,scheduled_p99_ms,declared_share",
    "0,5.0,/courses,45,0,1,5,6,0.3",
    "0,5.0,/courses/:id,105,0,1,3,4,0.7",
  ].join("\n");

  test("the CSV's verdict and reasons are the step's, its latency from the schedule beside the send's", async () => {
    const dir = join(scratch, "verdicts");
    await mkdir(dir, { recursive: true });
    await Bun.write(rateFiles(dir).steps, csv);
    await Bun.write(rateFiles(dir).endpoints, endpoints);
    const rows = await readRateSteps(rateFiles(dir).steps);
    expect(rows.map((row) => row.verdict)).toEqual(["held", "failed", "inconclusive"]);
    expect(rows[0]).toMatchObject({ reasons: [], latency_basis: "p95", scheduled_p99_ms: 160, p99_ms: 149 });
    expect(rows[2]!.reasons).toEqual(["generator at 0.96 of a core (≥ 0.9)", "p99 from the schedule 640 ms > 500 ms"]);
    const result = analyseRate(rows, LIMITS, null, await readRateEndpoints(rateFiles(dir).endpoints));
    // The 100 req/s step's p99 is fine, but its dropped slots are not: that is the verdict's, not ours.
    expect([result.knee_rps, result.first_failed_rps, result.inconclusive_rps]).toEqual([5, 100, null]);
    expect(result.steps[0]!.shares).toEqual({ "/courses": 0.3, "/courses/:id": 0.7 });
    expect(result.declared_shares).toEqual({ "/courses": 0.3, "/courses/:id": 0.7 });
  });

  const step: RateStepRow = {
    step: 0,
    offered_rps: 100,
    started_at: 0,
    measured_from: 5,
    ended_at: 35,
    measured_s: 30,
    slots: 3000,
    dropped: 0,
    requests: 3000,
    failures: 0,
    achieved_rps: 100,
    error_ratio: 0,
    p50_ms: 5,
    p95_ms: 9,
    p99_ms: 20,
    max_ms: 40,
    verdict: "held",
    reasons: [],
  };

  test("an inconclusive step is never the knee, and ends the ladder without failing the system", () => {
    const ladder: RateStepRow[] = [
      step,
      { ...step, step: 1, offered_rps: 200, verdict: "inconclusive", reasons: ["generator at 0.95 of a core (≥ 0.9)"] },
      { ...step, step: 2, offered_rps: 400 },
    ];
    const result = analyseRate(ladder, LIMITS, null);
    expect([result.knee_rps, result.first_failed_rps, result.inconclusive_rps]).toEqual([100, null, 200]);
    expect(analyseRate([{ ...step, verdict: "failed", reasons: ["x"] }], LIMITS, null).knee_rps).toBeNull();
  });

  test("after a bisection the knee is the highest rate held below the lowest failed, whatever the order", () => {
    const at = (index: number, rate: number, verdict: StepVerdict, achieved = rate): RateStepRow => ({
      ...step,
      step: index,
      offered_rps: rate,
      achieved_rps: achieved,
      verdict,
      reasons: verdict === "held" ? [] : ["p99 from the schedule 900 ms > 500 ms"],
    });
    // 1,000 held, 1,250 failed; bisected: 1,118 held, 1,182 failed, 1,150 held.
    const bisected = [
      at(0, 800, "held"),
      at(1, 1000, "held"),
      at(2, 1250, "failed", 1190),
      at(3, 1118, "held"),
      at(4, 1182, "failed", 1175),
      at(5, 1150, "held", 1149),
    ];
    const result = analyseRate(bisected, LIMITS, null);
    expect([result.knee_rps, result.first_failed_rps, result.inconclusive_rps]).toEqual([1150, 1182, null]);
    // The most answered per second in any window: the failed 1,250 step's 1,190.
    expect(result.peak_achieved_rps).toBe(1190);
  });
});

describe("USE figures over the measured window only", () => {
  // 10 samples a second apart; counters grow fast before t=105 (warm-up), slowly inside 105–108.
  const timeline: Timeline = {
    clock_ticks: 100,
    cores: 2,
    group_capacity: { postgres: 2, course: 1 },
    cpu: Array.from({ length: 10 }, (_, i) => ({
      at: 100 + i,
      ticks: { postgres: i <= 5 ? i * 100 : 500 + (i - 5) * 50, course: i * 90 },
    })),
    metrics: Array.from({ length: 10 }, (_, i) => ({
      at: 100 + i,
      services: {
        course: {
          pool_size: 5,
          pool_in_use: i < 5 ? 5 : 1,
          pool_waiting: i < 5 ? 40 : 0,
          pool_exhausted_total: i < 5 ? i * 100 : 500,
          responses_total: i * 1000,
          responses_503_total: i < 5 ? i * 100 : 500 + (i - 5),
          eventloop_lag_p99_s: i < 5 ? 0.5 : 0.01,
          cache_hit_total: i * 10,
          cache_miss_total: 0,
        },
      },
    })),
  };

  test("counters are read as their growth inside the window, interpolated between samples", () => {
    const points = timeline.cpu.map((sample) => ({ at: sample.at, value: sample.ticks.postgres! }));
    expect(valueAt(points, 105.5)).toBe(525);
    expect(valueAt(points, 99)).toBeNull();
    expect(deltaOver(points, 105, 108)).toBe(150);
    expect(deltaOver(points, 105, 120)).toBeNull();
  });

  test("the warm-up's CPU, waits and 503s stay out of the window", () => {
    const use = useOverWindow(timeline, 105, 108);
    expect(use.cpu_cores.postgres).toBe(0.5); // 150 ticks / 100 Hz / 3 s
    expect(use.cpu_cores.course).toBe(0.9);
    expect(use.machine_cores).toBe(1.4);
    const course = use.services.course!;
    expect(course.responses_503).toBe(3);
    expect(course.pool_exhausted).toBe(0);
    expect(course.pool_waiting_max).toBe(0);
    expect(course.pool_in_use_mean).toBe(1);
    expect(course.eventloop_lag_p99_max_ms).toBe(10);
    expect(course.cache_hits).toBe(30);
    expect(use.ranked[0]).toMatchObject({ resource: "course CPU", utilisation: 0.9 });
    // Over the warm-up the pool was full and waited on: it ranks as saturated there.
    const warmUp = useOverWindow(timeline, 100, 104);
    expect(busiest(warmUp)).toMatchObject({ resource: "course pool", utilisation: 1 });
  });
});

async function labRoot(name: string) {
  const root = join(scratch, name);
  for (const experiment of ["01-baseline", "02-trgm-index"]) {
    await mkdir(join(root, experiment), { recursive: true });
    await cp(join(import.meta.dir, "../../experiments", experiment, "flags.env"), join(root, experiment, "flags.env"));
  }
  return root;
}

/** A copy of the fixture as one more rate run of `experiment` under `root`, optionally edited. */
async function addRun(root: string, experiment: string, index: number, edit: (run: RunRecord) => void = () => {}) {
  const dir = join(root, experiment, "results", `2026-11-30T10-00-0${index}Z-rate`);
  await mkdir(dir, { recursive: true });
  await cp(FIXTURE, dir, { recursive: true });
  const run = (await Bun.file(join(dir, "run.json")).json()) as RunRecord;
  run.experiment = experiment;
  run.run_id = `2026-11-30T10-00-0${index}Z-rate`;
  edit(run);
  await Bun.write(join(dir, "run.json"), JSON.stringify(run));
  return writeRunReport(dir);
}

describe("repeats, spread and the lab report", () => {
  test("a variant's runs sit beside its rung's, under the same budgets, out of the ladder", async () => {
    const root = await labRoot("variants");
    const variantDir = join(root, "02-trgm-index", "variants", "big-pool");
    await mkdir(variantDir, { recursive: true });
    await Bun.write(join(variantDir, "flags.env"), "DB_POOL_MAX=20\n");
    const asVariant = (run: RunRecord) => {
      run.experiment = "02-trgm-index";
      run.variant = "big-pool";
    };
    await addRun(root, "01-baseline", 1);
    await addRun(root, "02-trgm-index", 2);
    await addRun(root, "02-trgm-index/variants/big-pool", 3, asVariant);
    // Under other budgets than the rungs' runs: not comparable, so not shown.
    await addRun(root, "02-trgm-index/variants/big-pool", 4, (run) => {
      asVariant(run);
      const per_process = { service: 0.1, web: 0.1, postgres: 0.2, pgbouncer: 0.1, redis: 0.1 };
      run.budgets = { mode: "cgroup v1", scale: 0.1, period_us: 10_000, per_process, components: {} };
    });
    const entries = await collectRateRuns(root);
    expect(entries.map((entry) => entry.runs.map((run) => run.summary.run_id))).toEqual([
      ["2026-11-30T10-00-01Z-rate"],
      ["2026-11-30T10-00-02Z-rate"],
    ]);
    expect(entries[0]!.variants).toEqual([]);
    const [variant] = entries[1]!.variants!;
    expect(variant!.name).toBe("big-pool");
    expect(variant!.changes).toEqual({ DB_POOL_MAX: "20" });
    expect(variant!.runs.map((run) => run.summary.run_id)).toEqual(["2026-11-30T10-00-03Z-rate"]);
    expect(variant!.runs[0]!.summary.variant).toBe("big-pool");
    // The Lab page replays it by its path, and nothing else past a rung's folder.
    const replay = await runSnapshot(root, "02-trgm-index/variants/big-pool/2026-11-30T10-00-03Z-rate");
    expect(replay.services.length).toBeGreaterThan(0);
    await expect(runSnapshot(root, "02-trgm-index/variants/../2026-11-30T10-00-03Z-rate")).rejects.toThrow(
      /a run is named/,
    );

    const [row] = variantRows(entries, root);
    const knee = entries[1]!.runs[0]!.summary.rate!.knee_rps;
    expect(row!.slice(0, 7)).toEqual([
      "[02-trgm-index · big-pool](02-trgm-index/variants/big-pool/results/2026-11-30T10-00-03Z-rate/report.md)",
      "DB_POOL_MAX=20",
      "1",
      `${knee} (${knee}–${knee})`,
      expect.any(String),
      "no difference (ranges overlap)",
      "no difference (ranges overlap)",
    ]);
    expect(row![7]).toStartWith("rare-search p99 (ms): ");
    const report = await Bun.file(await writeLabReport(["rate"], { root, file: join(root, "REPORT.md") })).text();
    expect(report).toContain("### Variants");
    expect(report).toContain("02-trgm-index · big-pool");
  });

  test("runs compare only under equal budgets: the report takes the newest run's", async () => {
    const root = await labRoot("budgets");
    const budgeted = (scale: number) => (run: RunRecord) => {
      const per_process = { service: scale, web: scale, postgres: 2 * scale, pgbouncer: scale, redis: scale };
      run.budgets = { mode: "cgroup v1", scale, period_us: 10_000, per_process, components: {} };
    };
    await addRun(root, "01-baseline", 1);
    await addRun(root, "01-baseline", 2, budgeted(0.25));
    await addRun(root, "01-baseline", 3, budgeted(0.125));
    await addRun(root, "02-trgm-index", 4, budgeted(0.125));
    const runIds = (entries: RateEntry[]) => entries.map((entry) => entry.runs.map((run) => run.summary.run_id));
    expect(runIds(await collectRateRuns(root))).toEqual([["2026-11-30T10-00-03Z-rate"], ["2026-11-30T10-00-04Z-rate"]]);
    expect(runIds(await collectRateRuns(root, false))).toEqual([["2026-11-30T10-00-01Z-rate"], []]);
    const dirs = [2, 3].map((index) => join(root, "01-baseline", "results", `2026-11-30T10-00-0${index}Z-rate`));
    expect(budgetKeyOf(dirs[0]!)).not.toBe(budgetKeyOf(dirs[1]!));
    // The same budgets measured another way (here a longer drain) is not a repeat: the newest such
    // run sets what the report compares, and the runs measured the old way drop out of it.
    await addRun(root, "01-baseline", 5, (run) => {
      budgeted(0.125)(run);
      run.load = { ...run.load, drainSeconds: 90 } as RunRecord["load"];
    });
    const newest = join(root, "01-baseline", "results", "2026-11-30T10-00-05Z-rate");
    expect(budgetKeyOf(newest)).toBe(budgetKeyOf(dirs[1]!));
    expect(comparableKeyOf(newest)).not.toBe(comparableKeyOf(dirs[1]!));
    expect(runIds(await collectRateRuns(root))).toEqual([["2026-11-30T10-00-05Z-rate"], []]);
    expect(budgetKeyOf(dirs[1]!)).toBe(
      budgetKey({
        scale: 0.125,
        period_us: 10_000,
        cores: { redis: 0.125, service: 0.125, web: 0.125, postgres: 0.25, pgbouncer: 0.125 },
        inReferenceCores: false,
      }),
    );
    // Budgets in reference cores repeat one another whatever each day's slowdown made of them, and
    // not the runs in plain cores before them.
    const scaledBy = (machine: number, postgres: number) => (run: RunRecord) => {
      budgeted(0.125)(run);
      if (run.budgets?.mode === "unbudgeted" || !run.budgets) return;
      const reference = run.budgets.per_process;
      run.budgets.reference_per_process = reference;
      run.budgets.slowdown = { machine, postgres };
      run.budgets.per_process = {
        ...reference,
        service: reference.service * machine,
        postgres: reference.postgres * postgres,
      };
    };
    await addRun(root, "01-baseline", 6, scaledBy(1.2, 1.4));
    await addRun(root, "01-baseline", 7, scaledBy(0.9, 1));
    const [slowDay, fastDay] = [6, 7].map((index) =>
      join(root, "01-baseline", "results", `2026-11-30T10-00-0${index}Z-rate`),
    );
    expect(budgetKeyOf(slowDay!)).toBe(budgetKeyOf(fastDay!));
    expect(budgetKeyOf(slowDay!)).not.toBe(budgetKeyOf(dirs[1]!));
    expect(budgetKeyOf(slowDay!)).toEndWith("reference cores");
  });

  test("the median knee with its min–max, the overlay chart, and the rung's own target", async () => {
    const root = await labRoot("lab");
    for (const index of [1, 2, 3]) await addRun(root, "01-baseline", index);
    const summary = await addRun(root, "02-trgm-index", 1);
    // The run's own report: each step's verdict and its endpoint shares.
    const runReport = await Bun.file(join(root, "02-trgm-index", "results", summary.run_id, "report.md")).text();
    expect(runReport).toContain("| 50 | 50 | 0 | 1 | 19 | – | 24 | 0.00% | held |");
    expect(runReport).toContain("failed: which limit broke was not recorded");
    expect(runReport).toContain("Each endpoint's share of the step's requests:");
    expect(runReport).toMatch(/\| 20 req\/s \| 26\.0 % \| 4\.0 % \|/);
    const file = await writeLabReport(["rate"], { root, file: join(root, "REPORT.md") });
    const report = await Bun.file(file).text();
    expect(report).toContain("## rate profile: the knee of each rung");
    expect(report).toMatch(/\| \[01-baseline\]\([^)]+\) \| 3 \| 50 \(50–50\) \|/);
    expect(report).toContain("Each rung against its own target");
    expect(report).toContain("latency-throughput.svg");
    expect((await Bun.file(join(root, "report-charts", "latency-throughput.svg")).text()).startsWith("<svg")).toBe(
      true,
    );
    expect(spread([300, 100, 200])).toEqual({ median: 200, min: 100, max: 300, n: 3 });
    expect(spread([100, 400])!.median).toBe(250);
  });

  test("a run that did not start from the seed's data fails the report loudly", async () => {
    const root = await labRoot("drift");
    await addRun(root, "01-baseline", 1);
    await addRun(root, "02-trgm-index", 1, (run) => {
      run.data!.search_terms = { ...run.data!.search_terms, kintsugi: 432 };
    });
    await expect(writeLabReport(["rate"], { root, file: join(root, "REPORT.md") })).rejects.toThrow(DataMismatchError);
    await expect(writeLabReport(["rate"], { root, file: join(root, "REPORT.md") })).rejects.toThrow("kintsugi");
  });

  test("the rung table reads the previous rung's bottleneck per step", async () => {
    const summary = (await buildSummary(FIXTURE)) as Summary;
    const entries: RateEntry[] = [
      { name: "02-trgm-index", change: "", runs: [{ dir: FIXTURE, summary }] },
      { name: "03-pool", change: "", runs: [{ dir: FIXTURE, summary }] },
    ];
    assertSameData(entries);
    const [row] = rungTargetRows(entries);
    expect(row![0]).toBe("03-pool");
    expect(row![1]).toContain("pool");
  });
});

test("a rung whose knee is below the one before is explained by the CPU both used at a rate both held", async () => {
  const summary = (await buildSummary(FIXTURE)) as Summary;
  const lower = structuredClone(summary);
  // The same run, but its 50 req/s step broke the p99 limit with more PostgreSQL CPU: knee 20.
  const step = lower.rate!.steps.find((candidate) => candidate.offered_rps === 50)!;
  step.held = false;
  lower.rate!.knee_rps = 20;
  lower.rate!.steps.find((candidate) => candidate.offered_rps === 20)!.use!.cpu_cores.postgres! += 0.3;
  const entries: RateEntry[] = [
    { name: "02-trgm-index", change: "", runs: [{ dir: FIXTURE, summary }] },
    { name: "03-pool", change: "", runs: [{ dir: FIXTURE, summary: lower }] },
  ];
  const [line] = ladderExceptions(entries);
  expect(line).toContain("**03-pool** holds less than 02-trgm-index (knee 20 req/s, 20–20, against 50, 50–50)");
  expect(line).toContain("at 20 req/s the servers used");
  expect(line).toContain("postgres +0.30");
  expect(ladderExceptions([entries[0]!, entries[0]!])).toEqual([]);
});

test("a run counts only when the machine kept its speed through it, PostgreSQL's and the hash's", () => {
  const before = { password_hash_cpu_ms: 100, json_cpu_ms: 20, rounds: 5, postgres_scan_cpu_ms: 80 };
  expect(speedHeld(before, { ...before, password_hash_cpu_ms: 112, postgres_scan_cpu_ms: 74 })).toEqual({
    held: true,
    said: "the machine's speed held (password hash 100 → 112 ms, PostgreSQL scan 80 → 74 ms; at most +12 %)",
  });
  const drifted = speedHeld(before, { ...before, postgres_scan_cpu_ms: 100 });
  expect(drifted.held).toBe(false);
  expect(drifted.said).toStartWith("the machine's speed moved +25 % (PostgreSQL scan) during the run");
  expect(speedHeld(before, { ...before, password_hash_cpu_ms: 80 }).said).toContain("moved -20 % (password hash)");
  // Runs from before PostgreSQL's calibration: the hash alone.
  const { postgres_scan_cpu_ms: _, ...hashOnly } = before;
  expect(speedHeld(hashOnly, { ...hashOnly, password_hash_cpu_ms: 110 }).said).toBe(
    "the machine's speed held (password hash 100 → 110 ms; at most +10 %)",
  );
  expect(speedHeld(before, undefined)).toEqual({
    held: false,
    said: "no calibration after the load: whether the speed held is unknown",
  });
});

test("the progress line: step, offered/achieved, p99 so far and time left; time alone for other loads", () => {
  const line = progressText(
    {
      step: 3,
      steps: 14,
      offered_rps: 200,
      measuring: true,
      achieved_rps: 198.5,
      p99_ms: 41.2,
      failures: 0,
      seconds_left_at_most: 385,
    },
    80,
    500,
  );
  expect(line).toBe(
    "step 3/14 measuring: offered 200 req/s, achieved 198.5, p99 41 ms, 0 failed; 80 s in, at most 385 s left",
  );
  expect(progressText(null, 30, 300)).toBe("load running 30 s, at most 270 s left");
});

test("the runner's ports are distinct, and given ones are kept", () => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const ports = freePorts({ course: 1234 });
    expect(ports.course).toBe(1234);
    const values = Object.values(ports);
    expect(new Set(values).size).toBe(values.length);
    expect(values).toHaveLength(8);
  }
});
