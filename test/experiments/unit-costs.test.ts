/**
 * docs/scaling.md multiplies per-request figures of committed rate runs: they are recomputed here
 * from those runs, so the doc cannot drift from the data (or the data from the doc), and one of
 * them is recomputed again from the raw CPU ticks of timeline.json, so the script cannot drift either.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  BASIS,
  HPA_TARGET_UTILISATION,
  MIN_REPLICAS,
  POD_CPU_REQUEST_CORES,
  UnitCostError,
  unitCosts,
  unitCostsMarkdown,
} from "../../scripts/experiments/report/unit-costs";
import type { Summary, Timeline } from "../../scripts/experiments/results/format";
import { ROOT } from "../../scripts/lib/stack";

const read = (path: string) => Bun.file(join(ROOT, path)).text();
const costs = await unitCosts();

describe("docs/scaling.md", () => {
  test("quotes the unit costs and the sizing exactly as the committed runs give them", async () => {
    const doc = await read("docs/scaling.md");
    expect(doc).toContain(unitCostsMarkdown(costs));
  });

  test("its pod sizes are deploy/k8s's: the CPU request, the autoscaler's target and its minimum", async () => {
    const app = await read("deploy/k8s/base/apps/app-defaults.yaml");
    expect(app).toMatch(new RegExp(`requests:\\s+cpu: ${POD_CPU_REQUEST_CORES * 1000}m`));
    const hpa = await read("deploy/k8s/components/replicas/course-hpa.yaml");
    expect(hpa).toContain(`averageUtilization: ${HPA_TARGET_UTILISATION * 100}`);
    expect(hpa).toContain(`minReplicas: ${MIN_REPLICAS}`);
  });
});

describe("the unit costs", () => {
  test("come from every committed rate run of the basis experiment", () => {
    expect(costs.experiment).toBe(BASIS.experiment);
    expect(costs.runs.length).toBeGreaterThanOrEqual(3);
    for (const run of costs.runs) expect(run).toStartWith(`experiments/${BASIS.experiment}/results/`);
  });

  test("the course service's CPU per request, recomputed from the raw CPU ticks of each run", async () => {
    const fromTicks: number[] = [];
    for (const run of costs.runs) {
      const summary = (await Bun.file(join(ROOT, run, "summary.json")).json()) as Summary;
      const timeline = (await Bun.file(join(ROOT, run, "timeline.json")).json()) as Timeline;
      const step = summary.rate?.steps.find((s) => s.offered_rps === BASIS.offeredRps);
      if (!step) throw new Error(`${run}: no ${BASIS.offeredRps} req/s step`);
      // the tick counters at the samples nearest the measured window's ends
      const ticksAt = (at: number) =>
        timeline.cpu.reduce((best, sample) => (Math.abs(sample.at - at) < Math.abs(best.at - at) ? sample : best)).ticks
          .course ?? 0;
      const cpuSeconds = (ticksAt(step.ended_at) - ticksAt(step.measured_from)) / timeline.clock_ticks;
      fromTicks.push((cpuSeconds * 1000) / step.requests);
    }
    const sorted = fromTicks.sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    // the summary interpolates at the window's exact ends; nearest samples are within a tick of it
    expect(Math.abs(median - costs.cpuMs.course!.median) / costs.cpuMs.course!.median).toBeLessThan(0.05);
  });

  test("hold together: the shares of DB time add up to 1, the hit ratio is a ratio", () => {
    const shares = Object.values(costs.queryTimeShare).reduce((sum, share) => sum + share.median, 0);
    expect(shares).toBeCloseTo(1, 1);
    expect(costs.queriesPerRequest.median).toBeGreaterThan(0.5);
    expect(costs.cacheHitRatio.median).toBeGreaterThan(0);
    expect(costs.cacheHitRatio.median).toBeLessThan(1);
  });

  test("a step no run held, or an experiment that does not exist, is a clear error", async () => {
    await expect(unitCosts(BASIS.experiment, 999)).rejects.toThrow(UnitCostError);
    await expect(unitCosts("06-nothing")).rejects.toThrow(/no experiment "06-nothing"/);
  });
});

describe("the command", () => {
  const run = (...args: string[]) =>
    Bun.spawnSync(["bun", "scripts/experiments/report/unit-costs.ts", ...args], {
      cwd: ROOT,
      stderr: "pipe",
      stdout: "pipe",
    });

  test("prints what the doc quotes", () => {
    const result = run();
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString().trim()).toBe(unitCostsMarkdown(costs));
  });

  test("bad input: one line and the usage, exit 2", () => {
    for (const args of [["--rate", "fast"], ["06-nothing"], ["--rate", "999"], ["--bogus"]]) {
      const result = run(...args);
      expect(result.exitCode).toBe(2);
      const [first, usage] = result.stderr.toString().trim().split("\n");
      expect(first).toStartWith("unit-costs: ");
      expect(usage).toStartWith("usage: ");
    }
  });
});
