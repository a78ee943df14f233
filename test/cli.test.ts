/**
 * Every command of package.json answers --help and refuses what it does not know with one line and
 * its usage (exit 2), before it starts anything: no stack trace, and nothing on stdout, where each
 * command announces what it starts.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runCommand } from "../scripts/lib/process";
import { ROOT } from "../scripts/lib/stack";
import { needs } from "./tools";

/** Each command is a fresh Bun (and Locust's check a Python) process: slow on a busy machine. */
const SPAWN_TIMEOUT_MS = 30_000;
const TOOLS = new Set(["typecheck", "lint", "format"]);
const scripts = Object.keys((await Bun.file(join(ROOT, "package.json")).json()).scripts).filter(
  (name) => !TOOLS.has(name),
);

const run = (script: string, args: string[]) => runCommand(["bun", "run", "--silent", script, ...args], { cwd: ROOT });

describe("command lines", () => {
  test("the commands people run are package.json scripts", () => {
    for (const name of ["start", "seed", "admin:create", "bench:seed", "experiment", "lab", "explain-search"]) {
      expect(scripts).toContain(name);
    }
  });

  const bogus = async (script: string) => {
    const { stdout, stderr, code } = await run(script, ["--bogus"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    const [problem, usage, ...rest] = stderr.trimEnd().split("\n");
    // `bun run locust` passes its arguments to Locust, whose own parser judges them first
    const unknown = script === "locust" ? "unrecognized arguments: --bogus" : "Unknown option '--bogus'";
    expect(problem).toBe(`${script.replace(/^locust:input$/, "locust-input")}: ${unknown}`);
    expect(usage).toStartWith("usage: ");
    expect(rest).toEqual([]);
  };
  test.each(scripts.filter((script) => script !== "locust"))(
    "bun run %s --bogus: one line and the usage on stderr, exit 2, nothing started",
    bogus,
  );
  // Locust judges the arguments of `bun run locust` itself: that case needs it installed.
  needs("locust", "test/cli.test.ts: bun run locust --bogus").test(
    "bun run locust --bogus: one line and the usage on stderr, exit 2, nothing started",
    () => bogus("locust"),
  );

  test.each(scripts)(
    "bun run %s --help: the usage on stdout, exit 0",
    async (script) => {
      const { stdout, stderr, code } = await run(script, ["--help"]);
      expect(code).toBe(0);
      expect(stdout).toStartWith("usage: ");
      expect(stderr).toBe("");
    },
    SPAWN_TIMEOUT_MS,
  );

  test(
    "a bad value is one line and the usage, exit 2",
    async () => {
      const cases: [string, string[], string][] = [
        ["start", ["--experiment", "99-nope"], 'start: no experiment "99-nope"'],
        ["seed", ["--users", "lots"], 'seed: --users must be a whole number ≥ 0, got "lots"'],
        ["bench:seed", ["--rounds", "0"], "bench:seed: --rounds takes a whole number ≥ 1"],
        ["admin:create", ["not-an-email"], 'admin:create: "not-an-email" is not an email address'],
        ["experiment", ["01-baseline", "--profile", "fast"], "experiment: --profile takes"],
        ["lab", ["--repeat", "99"], "lab: --repeat takes a whole number from 1 to 20"],
        ["explain-search", ["--prepared", "--unprepared"], "explain-search: --prepared and --unprepared exclude"],
      ];
      const answers = await Promise.all(cases.map(([script, args]) => run(script, args)));
      for (const [index, [script, , message]] of cases.entries()) {
        const { stdout, stderr, code } = answers[index]!;
        expect({ script, code, stdout }).toEqual({ script, code: 2, stdout: "" });
        const lines = stderr.trimEnd().split("\n");
        expect(lines).toHaveLength(2);
        expect(lines[0]).toStartWith(message);
        expect(lines[1]).toStartWith("usage: ");
      }
    },
    SPAWN_TIMEOUT_MS,
  );
});
