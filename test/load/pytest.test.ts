/**
 * The load package's own tests (test/load/test_*.py) run with pytest under the Python that runs
 * Locust (Debian's), so `bun test` is the one test command. Without pytest or Locust there they are
 * skipped with the packages named; under CI=true that is a failure.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const PYTHON = "/usr/bin/python3";
const ready = Bun.spawnSync([PYTHON, "-c", "import pytest, locust"], { stderr: "pipe" }).exitCode === 0;
const MISSING =
  "skipped: the load's pytest tests need python3-pytest and python3-locust (apt-get install python3-pytest python3-locust)";
if (!ready && process.env.CI !== "true") console.warn(MISSING);

test.skipIf(!ready && process.env.CI !== "true")(
  "the load package's pytest tests pass",
  () => {
    if (!ready) throw new Error(MISSING);
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
  },
  120_000,
);
