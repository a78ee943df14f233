/**
 * The load package's own tests (test/load/test_*.py) run with pytest under the Python that runs
 * Locust (Debian's), so `bun test` is the one test command. Without pytest or Locust they are
 * skipped with the packages named (needs()); under CI=true that is a failure.
 */
import { expect } from "bun:test";
import { join } from "node:path";
import { needs, PYTHON } from "../tools";

const ROOT = join(import.meta.dir, "../..");
const { test } = needs(["pytest", "locust"]);

test("the load package's pytest tests pass", () => {
  const run = Bun.spawnSync([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test/load"], {
    cwd: ROOT,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = `${run.stdout.toString()}${run.stderr.toString()}`;
  // Exit 5 is pytest finding no test: as much a failure here as a failing one.
  expect(run.exitCode, output).toBe(0);
  expect(output).toMatch(/\d+ passed/);
}, 120_000);
