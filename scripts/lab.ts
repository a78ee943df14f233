/**
 * bun run lab [--profile standard,capacity] [--report-only] [--seed-size full|small] [--data-dir DIR]
 * Runs every experiment of experiments/ in order with each profile, then writes experiments/REPORT.md
 * (side by side against the baseline). --report-only rewrites the report from the runs already there.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EXPERIMENTS_DIR, experimentNames, FlagsError, loadExperiment } from "./experiments/flags";
import { writeLabReport } from "./experiments/lab-report";
import { isProfileName, PROFILE_NAMES, type ProfileName } from "./experiments/profiles";
import { runExperiment } from "./experiments/runner";
import { assertTools, MissingToolsError, requiredTools } from "./experiments/tools";

const usage = `usage: bun run lab [--profile ${PROFILE_NAMES.join(",")}] [--report-only] [--seed-size full|small] [--data-dir DIR]`;
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    profile: { type: "string", default: "standard,capacity" },
    "report-only": { type: "boolean", default: false },
    "seed-size": { type: "string" },
    "data-dir": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const profiles = values.profile.split(",").filter(Boolean);
const seedSize = values["seed-size"];
if (
  values.help ||
  !profiles.length ||
  !profiles.every(isProfileName) ||
  (seedSize !== undefined && seedSize !== "full" && seedSize !== "small")
) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}
const say = (line: string) => console.log(`[lab] ${line}`);

const failed: string[] = [];
if (!values["report-only"]) {
  // Every program any experiment needs is checked before the first one starts.
  try {
    const experiments = await Promise.all(experimentNames().map((name) => loadExperiment(name)));
    assertTools([...new Map(experiments.flatMap((e) => requiredTools(e.flags)).map((t) => [t.program, t])).values()]);
  } catch (error) {
    if (!(error instanceof MissingToolsError || error instanceof FlagsError)) throw error;
    console.error(`[lab] ${error.message}`);
    process.exit(1);
  }
  for (const name of experimentNames()) {
    for (const profile of profiles as ProfileName[]) {
      try {
        const { summary } = await runExperiment({
          experiment: name,
          profile,
          seedSize,
          dataDir: values["data-dir"],
          say: (line) => say(`${name}: ${line}`),
        });
        say(
          `${name} ${profile}: ${summary.totals.rps} req/s, p99 ${summary.totals.p99_ms} ms, ${summary.totals.failures} failures`,
        );
      } catch (error) {
        console.error(`[lab] ${name} ${profile} failed: ${(error as Error).stack}`);
        failed.push(`${name} ${profile}`);
      }
    }
  }
}

// Smoke runs only prove the lab works: their report stays out of the committed experiments/REPORT.md.
const file = join(EXPERIMENTS_DIR, profiles.includes("smoke") ? "REPORT.smoke.md" : "REPORT.md");
say(`report: ${await writeLabReport(profiles as ProfileName[], { file })}`);
if (failed.length) {
  console.error(`[lab] failed: ${failed.join(", ")}`);
  process.exit(1);
}
