import { describe, expect, test } from "bun:test";
import { costsAtKnee, predictionMiss, predictKnee } from "../../scripts/experiments/analysis/predict";
import type { BudgetRecord, RateResult, RateStep } from "../../scripts/experiments/results/format";

/** A run whose knee step achieved `rps` with these cores per group. */
const run = (knee: number, rps: number, cores: Record<string, number>) => ({
  rate: {
    knee_rps: knee,
    steps: [
      { offered_rps: knee / 2, achieved_rps: knee / 2, use: { cpu_cores: { postgres: 9 } } },
      { offered_rps: knee, achieved_rps: rps, use: { cpu_cores: cores } },
    ] as unknown as RateStep[],
  } as RateResult,
});

const budgets = (components: Record<string, number>): BudgetRecord => ({
  mode: "cgroup v1",
  scale: 0.25,
  period_us: 10_000,
  per_process: { service: 0.25, web: 0.25, postgres: 0.5, pgbouncer: 0.25, redis: 0.25 },
  components: Object.fromEntries(Object.entries(components).map(([name, cores]) => [name, { cores, cgroups: [name] }])),
});

describe("predicting a knee from measured unit costs", () => {
  test("costs are CPU ms per achieved request at each run's knee step, the median over runs", () => {
    const costs = costsAtKnee([
      run(200, 200, { postgres: 0.35, course: 0.05, locust: 0.07 }),
      run(200, 190, { postgres: 0.38, course: 0.06, locust: 0.07 }),
      run(300, 300, { postgres: 0.6, course: 0.06, locust: 0.1 }),
    ]);
    // postgres: 1.75, 2.0, 2.0 ms → 2.0; course: 0.25, 0.3158, 0.2 → 0.25
    expect(costs.postgres).toBe(2);
    expect(costs.course).toBe(0.25);
  });

  test("the knee is the smallest budget ÷ cost, and names the component that runs out first", () => {
    const prediction = predictKnee(
      { postgres: 1.75, course: 0.25, locust: 0.35 },
      budgets({ postgres: 0.5, course: 0.25, pgbouncer: 0.25 }),
      2,
    )!;
    expect(prediction.knee_rps).toBe(286); // 0.5 core ÷ 1.75 ms
    expect(prediction.limiting).toBe("postgres");
    expect(prediction.costs.map((row) => [row.component, row.limit_rps])).toEqual([
      ["postgres", 286],
      ["machine", 851], // 2 cores ÷ 2.35 ms, Locust's share included
      ["course", 1000],
    ]);
    // PgBouncer is new in this rung: no cost measured for it, and it is said.
    expect(prediction.unmeasured).toEqual(["pgbouncer"]);
  });

  test("under budgets scaled by the calibration, costs and cores are taken in the reference's", () => {
    // The same work on a machine 1.5× slower (PostgreSQL 2× slower): 1.5× the CPU per request, and budgets 1.5× larger.
    const slow = (record: BudgetRecord): BudgetRecord =>
      record.mode === "unbudgeted" ? record : { ...record, slowdown: { machine: 1.5, postgres: 2 } };
    const slowRun = { ...run(200, 200, { postgres: 0.7, course: 0.075 }), budgets: slow(budgets({})) };
    expect(costsAtKnee([slowRun])).toEqual({ postgres: 1.75, course: 0.25 });
    const onSlowMachine = predictKnee(
      { postgres: 1.75, course: 0.25 },
      slow(budgets({ postgres: 1, course: 0.375 })),
      3,
    )!;
    expect(onSlowMachine.costs.map((row) => [row.component, row.cores, row.limit_rps])).toEqual([
      ["postgres", 0.5, 286],
      ["course", 0.25, 1000],
      ["machine", 2, 1000], // 3 cores ÷ 1.5
    ]);
  });

  test("a worker more doubles a service's budget, and so its limit", () => {
    const two = predictKnee({ course: 0.25 }, budgets({ course: 0.5 }), 2)!;
    expect(two.costs.find((row) => row.component === "course")!.limit_rps).toBe(2000);
  });

  test("no prediction for an unbudgeted rung or without costs", () => {
    expect(predictKnee({ course: 0.25 }, { mode: "unbudgeted", reason: "not root" }, 2)).toBeNull();
    expect(predictKnee({}, budgets({ course: 0.25 }), 2)).toBeNull();
  });

  test("a miss is the measured knee's distance from the predicted one, as a share", () => {
    expect(predictionMiss(200, 250)).toBe(0.25);
    expect(predictionMiss(200, 100)).toBe(-0.5);
  });
});
