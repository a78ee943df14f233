/**
 * needs() for real: a small test file run by `bun test` in a child whose PATH holds every program of
 * this machine but kubectl, as on a machine without kubernetes-client.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "../scripts/lib/process";
import { ROOT } from "../scripts/lib/stack";
import { skippedSummary } from "./tools";

const HIDDEN = "kubectl";
const FILE = "test/k8s/max-replicas.test.ts";

/** A PATH of one folder: a link to each program on this one's PATH (and sbin), kubectl left out. */
const bare = mkdtempSync(join(tmpdir(), "lab-bare-path-"));
for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin"]) {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    continue;
  }
  for (const name of names) {
    if (name === HIDDEN) continue;
    try {
      symlinkSync(join(dir, name), join(bare, name));
    } catch {
      // the first folder on PATH wins, as it does for a shell
    }
  }
}
afterAll(() => rmSync(bare, { recursive: true, force: true }));

const runWithout = (env: Record<string, string>) => {
  const { CI: _ci, ...rest } = process.env;
  return runCommand(["bun", "test", FILE], { cwd: ROOT, env: { ...rest, PATH: bare, ...env }, killAfterMs: 60_000 });
};

test("a missing program skips its tests with one line naming its package, and the run passes with the install line", async () => {
  const started = Date.now();
  const { stdout, stderr, code } = await runWithout({});
  const output = `${stdout}${stderr}`;
  expect({ code, output }).toEqual({ code: 0, output: expect.any(String) });
  const lines = output.split("\n").filter((line) => line.startsWith("skipped: "));
  expect(lines).toEqual([
    `skipped: ${FILE} needs kubectl (Debian kubernetes-client): apt-get install kubernetes-client`,
  ]);
  expect(output).toContain(`skipped 1 test group for missing programs:\n  ${FILE}: kubectl\n`);
  expect(output).toContain("to run them: apt-get install kubernetes-client");
  expect(output).toMatch(/\b0 fail\b/);
  // nothing waited for the program that is not there
  expect(Date.now() - started).toBeLessThan(30_000);
}, 60_000);

test("under CI=true the same missing program fails the run, naming the package", async () => {
  const { stdout, stderr, code } = await runWithout({ CI: "true" });
  const output = `${stdout}${stderr}`;
  expect(code).not.toBe(0);
  expect(output).toContain("missing program under CI=true");
  expect(output).toContain("apt-get install kubernetes-client");
  expect(output).not.toContain("skipped 1 test group");
}, 60_000);

test("the summary lists each skipped group and installs every package once", () => {
  expect(
    skippedSummary([
      { group: "a.test.ts", tools: ["redis-server", "kubectl"] },
      { group: "b.test.ts", tools: ["redis-server"] },
      { group: "c.test.ts", tools: ["prometheus", "promtool"] },
    ]),
  ).toBe(
    [
      "skipped 3 test groups for missing programs:",
      "  a.test.ts: redis-server, kubectl",
      "  b.test.ts: redis-server",
      "  c.test.ts: prometheus, promtool",
      "to run them: apt-get install redis-server kubernetes-client prometheus",
    ].join("\n"),
  );
  expect(skippedSummary([])).toBe("");
});
