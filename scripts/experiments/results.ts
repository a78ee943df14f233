import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { RunRecord } from "./summary";

/** A run's results folder, experiments/<experiment>/results/<run-id>/: the files reports read and write. */
export const SUMMARY_FILE = "summary.json";
export const REPORT_FILE = "report.md";
export const EXPLAIN_FILE = "explain.txt";

/** The results folders of an experiment's finished runs of a profile (summary.json is written last), oldest first. */
export async function finishedRuns(experimentDir: string, profile: string): Promise<string[]> {
  const resultsDir = join(experimentDir, "results");
  const names = (await readdir(resultsDir).catch(() => [] as string[]))
    .filter((name) => name.endsWith(`-${profile}`))
    .sort();
  const done = await Promise.all(names.map((name) => Bun.file(join(resultsDir, name, SUMMARY_FILE)).exists()));
  return names.filter((_, index) => done[index]).map((name) => join(resultsDir, name));
}

/** Whether a finished run ran under CPU budgets (run.json's `budgets`; runs from before budgets did not). */
export function isBudgeted(runDir: string): boolean {
  try {
    const run = JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")) as RunRecord;
    return run.budgets !== undefined && run.budgets.mode !== "unbudgeted";
  } catch {
    return false;
  }
}
