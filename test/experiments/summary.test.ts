/**
 * Summary, capacity analysis and reports from RECORDED Locust output: fixtures/steady is a smoke run
 * (6 users, 8 s) and fixtures/capacity a step run (3 more users every 18 s, up to 6), both of
 * 01-baseline against the real stack on a small seed, recorded with the runner on this machine.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cp, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AGGREGATED, readHistory } from "../../scripts/experiments/analysis/locust-csv";
import { analyseCapacity, buildSummary, settleSeconds } from "../../scripts/experiments/analysis/summary";
import { writeLabReport } from "../../scripts/experiments/report/lab-report";
import { writeRunReport } from "../../scripts/experiments/report/run-report";
import type { RunRecord } from "../../scripts/experiments/results/format";

const FIXTURES = join(import.meta.dir, "fixtures");
const scratch = await mkdtemp(join(tmpdir(), "lab-summary-"));
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** A writable copy of a fixture, as a results folder named like the runner names them. */
async function resultsCopy(fixture: "steady" | "capacity", parent = scratch) {
  const run = (await Bun.file(join(FIXTURES, fixture, "run.json")).json()) as RunRecord;
  const dir = join(parent, run.run_id);
  await mkdir(parent, { recursive: true });
  await cp(join(FIXTURES, fixture), dir, { recursive: true });
  return dir;
}

/** Locust's CSV read the plain way, to check the summary against. */
async function csvRows(path: string) {
  const [header, ...lines] = (await Bun.file(path).text()).trim().split("\n");
  const columns = header!.split(",");
  return lines.map((line) => Object.fromEntries(line.split(",").map((value, index) => [columns[index]!, value])));
}

describe("summary of a steady run", () => {
  test("per endpoint and in total it carries Locust's own numbers", async () => {
    const summary = await buildSummary(join(FIXTURES, "steady"));
    const rows = await csvRows(join(FIXTURES, "steady", "locust_stats.csv"));
    const total = rows.find((row) => row.Name === AGGREGATED)!;
    expect(summary.totals.requests).toBe(Number(total["Request Count"]));
    expect(summary.totals.failures).toBe(Number(total["Failure Count"]));
    expect(summary.totals.p99_ms).toBe(Number(total["99%"]));
    expect(summary.totals.rps).toBeCloseTo(Number(total["Requests/s"]), 2);
    expect(summary.endpoints).toHaveLength(rows.length - 1);
    for (const endpoint of summary.endpoints) {
      const row = rows.find((candidate) => candidate.Name === endpoint.name && candidate.Type === endpoint.method)!;
      expect([endpoint.requests, endpoint.p50_ms, endpoint.p95_ms]).toEqual([
        Number(row["Request Count"]),
        Number(row["50%"]),
        Number(row["95%"]),
      ]);
    }
    expect(summary.endpoints.reduce((sum, endpoint) => sum + endpoint.requests, 0)).toBe(summary.totals.requests);
    expect(summary.capacity).toBeNull();
  });

  test("the recorded run used every scenario, named by route template, with no failures", async () => {
    const summary = await buildSummary(join(FIXTURES, "steady"));
    const names = summary.endpoints.map((endpoint) => `${endpoint.method} ${endpoint.name}`).sort();
    expect(names).toEqual(
      [
        "GET /courses",
        "POST /courses (create)",
        "GET /courses/:id",
        "GET /courses?q=:common",
        "GET /courses?q=:rare",
        "POST /enrollments",
        "GET /enrollments/course/:id/count",
        "GET /enrollments/me",
        "POST /login",
        "POST /notifications",
        "GET /notifications/me",
        "POST /payments",
      ].sort(),
    );
    expect(summary.failures).toEqual([]);
    expect(summary.exceptions).toEqual([]);
    expect(summary.totals.failures).toBe(0);
  });

  test("run.json's facts pass through: flags, machine, command line, CPU of every process group", async () => {
    const summary = await buildSummary(join(FIXTURES, "steady"));
    expect(summary.flags.SEARCH_INDEX).toBe("none");
    expect(summary.machine.cores).toBeGreaterThan(0);
    expect(summary.machine.postgres).toMatch(/^PostgreSQL \d+/);
    expect(summary.command.slice(0, 4)).toEqual(["locust", "--headless", "-f", "locustfile.py"]);
    expect(Object.keys(summary.cpu.groups)).toEqual(
      expect.arrayContaining(["locust", "identity", "course", "enrollment", "payment", "notification", "postgres"]),
    );
    expect(summary.duration_s).toBeGreaterThan(summary.load.kind === "steady" ? summary.load.seconds : 0);
  });

  test("generator_limited follows the load generator's busiest window", async () => {
    const dir = await resultsCopy("steady", join(scratch, "limited"));
    const run = (await Bun.file(join(dir, "run.json")).json()) as RunRecord;
    expect((await buildSummary(dir)).generator_limited).toBe(run.cpu.groups.locust!.cores_peak >= 0.9);
    run.cpu.groups.locust!.cores_peak = 0.97;
    await Bun.write(join(dir, "run.json"), JSON.stringify(run));
    expect((await buildSummary(dir)).generator_limited).toBe(true);
    run.cpu.groups.locust!.cores_peak = 0.5;
    await Bun.write(join(dir, "run.json"), JSON.stringify(run));
    expect((await buildSummary(dir)).generator_limited).toBe(false);
  });
});

describe("capacity analysis of a recorded step run", () => {
  const load = async () => {
    const run = (await Bun.file(join(FIXTURES, "capacity", "run.json")).json()) as RunRecord;
    if (run.load.kind !== "step") throw new Error("the capacity fixture is a step run");
    return { step: run.load, history: await readHistory(join(FIXTURES, "capacity", "locust_stats_history.csv")) };
  };

  test("finds one step per user count of the shape, measured after its ramp and a full percentile window", async () => {
    const { step, history } = await load();
    const settle = settleSeconds(step);
    const { steps } = analyseCapacity(history, { p99LimitMs: Infinity, errorLimit: 1 }, settle);
    expect(steps.map((s) => s.users)).toEqual([step.stepUsers, 2 * step.stepUsers]);
    const aggregated = history.filter((row) => row.name === AGGREGATED);
    const origin = aggregated[0]!.timestamp;
    for (const s of steps) {
      const stretch = aggregated.filter((row) => row.users === s.users);
      const measured = stretch.filter((row) => row.timestamp - origin >= s.start_s + settle);
      expect(s.start_s).toBe(stretch[0]!.timestamp - origin);
      expect(s.end_s).toBe(stretch.at(-1)!.timestamp - origin);
      expect(s.requests).toBe(stretch.at(-1)!.totalRequests - measured[0]!.totalRequests);
      expect(s.rps).toBeCloseTo(s.requests / s.measured_s, 1);
      expect(s.p99_ms).toBe(Math.max(...measured.map((row) => row.percentiles["99%"] ?? 0)));
    }
    // The new users' logins at the start of a step are left out of its p99.
    const second = aggregated.filter((row) => row.users === steps[1]!.users);
    expect(Math.max(...second.map((row) => row.percentiles["99%"] ?? 0))).toBeGreaterThan(steps[1]!.p99_ms);
  });

  test("the last step before the first one over the limits is the capacity; its RPS the headline", async () => {
    const { step, history } = await load();
    const settle = settleSeconds(step);
    const all = analyseCapacity(history, { p99LimitMs: Infinity, errorLimit: 1 }, settle);
    expect(all.first_over).toBeNull();
    expect(all.last_within).toEqual(all.steps.at(-1)!);
    expect(all.highest_rps_within_limits).toBe(Math.max(...all.steps.map((s) => s.rps)));

    const none = analyseCapacity(history, { p99LimitMs: 0, errorLimit: 1 }, settle);
    expect(none.first_over).toEqual({ ...none.steps[0]!, within_limits: false });
    expect(none.last_within).toBeNull();
    expect(none.highest_rps_within_limits).toBeNull();

    // A limit just under each step's p99 makes the first step over it the breach.
    for (const target of all.steps) {
      const limit = target.p99_ms - 1;
      const result = analyseCapacity(history, { p99LimitMs: limit, errorLimit: 1 }, settle);
      const breach = all.steps.findIndex((s) => s.p99_ms > limit);
      const held = all.steps.slice(0, breach);
      expect(result.first_over?.users).toBe(all.steps[breach]!.users);
      expect(result.last_within?.users).toBe(held.at(-1)?.users);
      expect(result.highest_rps_within_limits).toBe(held.length ? Math.max(...held.map((s) => s.rps)) : null);
    }
  });

  test("errors over the limit fail a step as p99 does", async () => {
    const { step, history } = await load();
    // Count every request of the run as failed from the first row on: each step's error ratio becomes 1.
    const failing = history.map((row) => ({ ...row, totalFailures: row.totalRequests }));
    const result = analyseCapacity(failing, { p99LimitMs: Infinity, errorLimit: 0.01 }, settleSeconds(step));
    expect(result.steps.every((s) => s.error_ratio === 1 && !s.within_limits)).toBe(true);
    expect(result.last_within).toBeNull();
  });
});

describe("reports", () => {
  const svgs = async (dir: string) => (await readdir(join(dir, "charts"))).sort();

  test("a steady run's report.md has the totals, every endpoint, the CPU table and Vega-Lite SVG charts", async () => {
    const dir = await resultsCopy("steady");
    const summary = await writeRunReport(dir);
    const report = await Bun.file(join(dir, "report.md")).text();
    expect(report).toContain(`| all endpoints | ${summary.totals.requests} | 0 |`);
    for (const endpoint of summary.endpoints)
      expect(report).toContain(`| ${endpoint.method} ${endpoint.name} | ${endpoint.requests} |`);
    expect(report).toContain("| locust |");
    expect(report).not.toContain("## Capacity");
    expect(await svgs(dir)).toEqual([
      "endpoints-over-time.svg",
      "endpoints.svg",
      "errors.svg",
      "latency.svg",
      "throughput.svg",
    ]);
    for (const file of await svgs(dir)) {
      const svg = await Bun.file(join(dir, "charts", file)).text();
      expect(svg.startsWith("<svg")).toBe(true);
      expect(report).toContain(`(charts/${file})`);
    }
    // Drawn from the data: the latency chart has a line per percentile.
    const latency = await Bun.file(join(dir, "charts", "latency.svg")).text();
    for (const label of ["p50", "p95", "p99"]) expect(latency).toContain(`>${label}<`);
    expect(await Bun.file(join(dir, "summary.json")).json()).toEqual(JSON.parse(JSON.stringify(summary)));
  });

  test("exceptions raised inside tasks are reported apart from failed requests", async () => {
    const dir = await resultsCopy("steady", join(scratch, "exceptions"));
    await Bun.write(
      join(dir, "locust_exceptions.csv"),
      'Count,Message,Traceback,Nodes\n3,KeyError(\'items\'),"Traceback (most recent call last):\n  File ""locustfile.py""",local\n',
    );
    const summary = await writeRunReport(dir);
    expect(summary.exceptions).toEqual([
      {
        count: 3,
        message: "KeyError('items')",
        traceback: 'Traceback (most recent call last):\n  File "locustfile.py"',
      },
    ]);
    expect(summary.totals.failures).toBe(0);
    const report = await Bun.file(join(dir, "report.md")).text();
    expect(report).toContain("## Exceptions in the locustfile");
    expect(report).toContain("| 3 | KeyError('items') |");
  });

  test("a capacity run's report leads with the highest RPS held within the limits and charts the steps", async () => {
    const dir = await resultsCopy("capacity");
    const summary = await writeRunReport(dir);
    const report = await Bun.file(join(dir, "report.md")).text();
    expect(report).toContain(
      `Highest throughput held within the limits: ${summary.capacity!.highest_rps_within_limits} requests/s`,
    );
    for (const step of summary.capacity!.steps)
      expect(report).toContain(`| ${step.users} | ${step.rps} | ${step.p99_ms} |`);
    expect(await svgs(dir)).toContain("capacity.svg");
  });

  test("the lab report puts each experiment's newest runs side by side against the baseline", async () => {
    const root = join(scratch, "lab");
    for (const name of ["01-baseline", "02-trgm-index"]) {
      await mkdir(join(root, name), { recursive: true });
      await cp(join(import.meta.dir, "../../experiments", name, "flags.env"), join(root, name, "flags.env"));
    }
    for (const fixture of ["steady", "capacity"] as const) {
      await writeRunReport(await resultsCopy(fixture, join(root, "01-baseline", "results")));
    }
    await writeRunReport(await resultsCopy("steady", join(root, "02-trgm-index", "results")));
    const file = await writeLabReport(["smoke", "capacity"], { root });
    const report = await Bun.file(file).text();
    const baseline = await buildSummary(join(FIXTURES, "steady"));

    expect(report).toContain("## smoke profile");
    expect(report).toContain("## capacity profile");
    const smokeRows = report
      .split("## capacity profile")[0]!
      .split("\n")
      .filter((line) => line.startsWith("| ["));
    expect(smokeRows).toHaveLength(2);
    expect(smokeRows[0]).toContain("baseline: SEARCH_INDEX=none, DB_POOL_MAX=5");
    expect(smokeRows[0]).toContain(`| ${baseline.totals.rps} | ${baseline.totals.p50_ms} |`);
    expect(smokeRows[1]).toContain("| SEARCH_INDEX=trgm |");
    expect(smokeRows[1]).toContain("| 1.00× |");
    expect(report).toMatch(/\| 02-trgm-index \| SEARCH_INDEX=trgm \| not run yet \|/);
    for (const chart of ["p99-by-endpoint.svg", "p99-over-time.svg", "throughput.svg"]) {
      expect(report).toContain(`(report-charts/${chart})`);
      expect((await Bun.file(join(root, "report-charts", chart)).text()).startsWith("<svg")).toBe(true);
    }
  });
});
