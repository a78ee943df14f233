/**
 * The CPU sampler against real processes: a child that is born, burns CPU and is reaped between two
 * samples (as PostgreSQL's parallel query workers are) still counts, through its parent's reaped
 * ticks, and a child seen alive is not counted twice once its parent has reaped it.
 */
import { expect, test } from "bun:test";
import { CLOCK_TICKS, CpuSampler, readProcStat } from "../../scripts/experiments/run/cpu";

// About a second of busy CPU in a child the parent waits for, then the parent sleeps.
// (bash's SECONDS is whole seconds, so a loop on it may burn anything from 0 to 1 s: timeout is exact.)
const SCRIPT = "(timeout 1 sh -c 'while :; do :; done'; true); sleep 2";

/** The sampler's figure for the family and the kernel's own (the parent's ticks and its reaped child's). */
async function measured(intervalMs: number) {
  const parent = Bun.spawn(["bash", "-c", SCRIPT]);
  const sampler = new CpuSampler({ family: [parent.pid] }, intervalMs);
  sampler.start();
  // The child has burned its second and been reaped; the parent sleeps.
  await Bun.sleep(1600);
  const report = sampler.stop();
  const stat = readProcStat(parent.pid)!;
  parent.kill();
  return { sampled: report.groups.family!.cpu_seconds, kernel: (stat.ticks + stat.reaped_ticks) / CLOCK_TICKS };
}

test("a child that lives between two samples is counted through its parent's reaped ticks", async () => {
  // 5 s between samples: the child is never seen alive.
  const { sampled, kernel } = await measured(5000);
  expect(kernel).toBeGreaterThan(0.2);
  expect(Math.abs(sampled - kernel)).toBeLessThanOrEqual(0.03);
});

test("a child seen alive is counted once after its parent reaps it", async () => {
  const { sampled, kernel } = await measured(100);
  expect(kernel).toBeGreaterThan(0.2);
  expect(Math.abs(sampled - kernel)).toBeLessThanOrEqual(0.03);
});
