/**
 * bun run lab [--profile …] [--repeat N] [--only …]: every experiment in order, then experiments/REPORT.md
 * (side by side against the baseline); `--help` lists the flags.
 */
import { join, relative } from "node:path";
import { writeLabReport } from "./experiments/report/lab-report";
import { DataMismatchError } from "./experiments/report/rate-report";
import { writeRunReport } from "./experiments/report/run-report";
import {
  EXPERIMENTS_DIR,
  experimentDir,
  experimentNames,
  FlagsError,
  loadExperiment,
} from "./experiments/results/flags";
import { isProfileName, PROFILE_NAMES, PROFILES, type ProfileName, withSeedSize } from "./experiments/results/profiles";
import {
  budgetKey,
  budgetKeyOf,
  comparableKey,
  comparableKeyOf,
  finishedRuns,
  UNBUDGETED,
} from "./experiments/results/runs";
import { budgetsFor, readBudgetTable } from "./experiments/run/budgets";
import { runExperiment } from "./experiments/run/runner";
import { assertTools, MissingToolsError, requiredTools } from "./experiments/run/tools";
import { parseCommandLine, wholeNumber } from "./lib/args";
import { stopChildrenOnSignal, stopDescendants } from "./lib/process";

const names = experimentNames();
const line = parseCommandLine({
  name: "lab",
  usage: `usage: bun run lab [--profile ${PROFILE_NAMES.join(",")}] [--repeat N] [--only ${names.join(",")}] [--variant NAME] [--report-only | --reanalyse] [--seed-size full|small] [--data-dir DIR] [--unbudgeted]`,
  help: `Runs every experiment in order with each profile, then writes experiments/REPORT.md.
  --profile      profiles to run, comma-separated (default rate)
  --repeat N     each experiment ends with N runs of each profile (1–20); runs already in results/ count, so a stopped lab resumes
  --only         just these experiments, comma-separated
  --variant      run one variant of the --only experiment instead (experiments/<name>/variants/NAME/flags.env:
                 the flags it changes), e.g. --only 03-pool --variant pool-only; its runs repeat only its own
  --report-only  rewrite the report from the runs already there
  --reanalyse    rewrite each run's summary.json, charts and report.md from its own raw files (the
                 profiles' runs of --only's experiments made under the budgets a run would use now),
                 then the report: after a change to how runs are judged, not to what they measured
  --seed-size    full or small, instead of each profile's own
  --data-dir     where the experiments' PostgreSQL keeps its data
  --unbudgeted   run without CPU budgets (by default every component runs under deploy/cpu-budgets.yaml's);
                 only runs made the same way count towards --repeat`,
  options: {
    profile: { type: "string", default: "rate" },
    repeat: { type: "string", default: "1" },
    only: { type: "string" },
    variant: { type: "string" },
    "report-only": { type: "boolean", default: false },
    reanalyse: { type: "boolean", default: false },
    "seed-size": { type: "string" },
    "data-dir": { type: "string" },
    unbudgeted: { type: "boolean", default: false },
  },
});
const { values, fail } = line;
const profiles = (values.profile ?? "rate").split(",").filter(Boolean);
if (!profiles.length || !profiles.every(isProfileName)) fail(`--profile takes ${PROFILE_NAMES.join(", ")}`);
const seedSize = values["seed-size"] as "full" | "small" | undefined;
if (seedSize !== undefined && seedSize !== "full" && seedSize !== "small") fail("--seed-size takes full or small");
const repeat = wholeNumber(line, "repeat", values.repeat ?? "1", { min: 1, max: 20 });
const only = values.only?.split(",").filter(Boolean) ?? names;
const unknown = only.filter((name) => !names.includes(name));
if (unknown.length) fail(`--only: no experiment ${unknown.join(", ")} (have: ${names.join(", ")})`);
const variant = values.variant;
if (variant !== undefined && (values.only === undefined || only.length !== 1))
  fail("--variant goes with --only and one experiment (e.g. --only 03-pool --variant pool-only)");
const say = (line: string) => console.log(`[lab] ${line}`);
stopChildrenOnSignal("lab");

// Runs under other budgets (another scale, an earlier table) or measured another way (another
// ladder, limits or drain) are not repeats of these.
const referenceBudgets = budgetsFor(readBudgetTable());
const budgetsToRepeat = values.unbudgeted
  ? UNBUDGETED
  : budgetKey({ ...referenceBudgets, cores: referenceBudgets.reference, inReferenceCores: true });
const keyToRepeat = (profile: ProfileName) => comparableKey(budgetsToRepeat, withSeedSize(PROFILES[profile], seedSize));
const failed: string[] = [];
if (values.reanalyse) {
  for (const name of only)
    for (const profile of profiles)
      for (const dir of await finishedRuns(experimentDir(name, variant), profile))
        if (budgetKeyOf(dir) === budgetsToRepeat) {
          await writeRunReport(dir);
          say(`${name}: ${relative(EXPERIMENTS_DIR, dir)} analysed again`);
        }
} else if (!values["report-only"]) {
  // Every program any experiment needs is checked before the first one starts.
  try {
    const experiments = await Promise.all(only.map((name) => loadExperiment(name, EXPERIMENTS_DIR, variant)));
    assertTools([...new Map(experiments.flatMap((e) => requiredTools(e.flags)).map((t) => [t.program, t])).values()]);
  } catch (error) {
    if (!(error instanceof MissingToolsError || error instanceof FlagsError)) throw error;
    console.error(`[lab] ${error.message}`);
    process.exit(1);
  }
  // Round by round, so a lab stopped half-way has every experiment measured as often as possible.
  for (let round = 1; round <= repeat; round++) {
    for (const name of only) {
      for (const profile of profiles as ProfileName[]) {
        const done = (await finishedRuns(experimentDir(name, variant), profile)).filter(
          (dir) => comparableKeyOf(dir) === keyToRepeat(profile),
        ).length;
        if (done >= round) {
          say(`${name} ${profile}: run ${round} of ${repeat} already there (${done} in results/)`);
          continue;
        }
        try {
          const { summary } = await runExperiment({
            experiment: name,
            variant,
            profile,
            seedSize,
            dataDir: values["data-dir"],
            budgets: !values.unbudgeted,
            say: (line) => say(`${name}: ${line}`),
          });
          const knee = summary.rate ? `, knee ${summary.rate.knee_rps ?? "none"} req/s` : "";
          say(
            `${name} ${profile} run ${round}/${repeat}: ${summary.totals.rps} req/s, p99 ${summary.totals.p99_ms} ms, ${summary.totals.failures} failures${knee}`,
          );
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          console.error(`[lab] ${name} ${profile} failed: ${message.split("\n")[0]}`);
          failed.push(`${name} ${profile}`);
          // nothing of the failed run may outlive it into the next one
          await stopDescendants();
        }
      }
    }
  }
}

// Smoke runs only prove the lab works: their report stays out of the committed experiments/REPORT.md.
const file = join(EXPERIMENTS_DIR, profiles.includes("smoke") ? "REPORT.smoke.md" : "REPORT.md");
try {
  say(
    `report: ${await writeLabReport(profiles as ProfileName[], { file, budgeted: values.unbudgeted ? false : undefined })}`,
  );
} catch (error) {
  if (!(error instanceof DataMismatchError)) throw error;
  console.error(`[lab] ${error.message}`);
  process.exit(1);
}
if (failed.length) {
  console.error(`[lab] failed: ${failed.join(", ")}`);
  process.exit(1);
}
