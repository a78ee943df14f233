/**
 * bun run experiment <name> [--profile …]: runs one experiment of experiments/ and writes
 * experiments/<name>/results/<run-id>/ (the flags are in the usage below, --help prints them).
 */
import { experimentNames, FlagsError } from "./experiments/results/flags";
import {
  isProfileName,
  PROFILE_NAMES,
  PROFILES,
  type ProfileName,
  type SeedSize,
} from "./experiments/results/profiles";
import { runExperiment } from "./experiments/run/runner";
import { MissingToolsError } from "./experiments/run/tools";
import { parseCommandLine } from "./lib/args";
import { failStart, stopChildrenOnSignal } from "./lib/process";

const names = experimentNames();
const { values, positionals, fail } = parseCommandLine({
  name: "experiment",
  usage: `usage: bun run experiment <${names.join("|")}> [--variant NAME] [--profile ${PROFILE_NAMES.join("|")}] [--seed-size full|small] [--data-dir DIR] [--step-users N] [--rates R,R,…] [--cpu-scale X | --unbudgeted]`,
  help: `Runs one experiment with Locust and writes experiments/<name>/results/<run-id>/.
  --variant     one of the experiment's variants (experiments/<name>/variants/NAME/flags.env), results in its folder
  --profile     the load (default rate): rate, an offered req/s ladder; standard, 100 users for 5 minutes; capacity, users in steps; smoke, a quick check
  --seed-size   full (the roadmap's data) or small (the demo's); each profile has its own default
  --data-dir    where the experiments' PostgreSQL keeps its data (default .data/experiments/postgres)
  --step-users  users added per step of the capacity profile (default 100)
  --rates       the rate profile's offered req/s, rising (e.g. 10,25,50)
  --cpu-scale   the factor on deploy/cpu-budgets.yaml's limits (default: this machine's cores ÷ the table's reference cores)
  --unbudgeted  run every component without a CPU budget (the lab before budgets)`,
  options: {
    variant: { type: "string" },
    profile: { type: "string", default: "rate" },
    "step-users": { type: "string" },
    rates: { type: "string" },
    "seed-size": { type: "string" },
    "data-dir": { type: "string" },
    "cpu-scale": { type: "string" },
    unbudgeted: { type: "boolean" },
  },
  positionals: { min: 1, max: 1 },
});
const name = positionals[0] as string;
if (!names.includes(name)) fail(`no experiment ${JSON.stringify(name)} (have: ${names.join(", ")})`);
const seedSize = values["seed-size"];
const profileName = values.profile ?? "rate";
if (!isProfileName(profileName)) fail(`--profile takes ${PROFILE_NAMES.join(", ")}`);
const profileChosen = profileName as ProfileName;
if (seedSize !== undefined && seedSize !== "full" && seedSize !== "small") fail("--seed-size takes full or small");

const stepUsers = values["step-users"] === undefined ? undefined : Number(values["step-users"]);
const profile = PROFILES[profileChosen];
if (stepUsers !== undefined && (profile.kind !== "step" || !Number.isInteger(stepUsers) || stepUsers < 1)) {
  fail("--step-users takes a whole number ≥ 1 and goes with --profile capacity");
}

const rates = values.rates?.split(",").map(Number);
if (
  rates !== undefined &&
  (profile.kind !== "rate" ||
    !rates.length ||
    !rates.every((rate, index) => Number.isFinite(rate) && rate > 0 && (index === 0 || rate > rates[index - 1]!)))
) {
  fail("--rates takes rising numbers > 0 separated by commas (e.g. 10,25,50) and goes with --profile rate");
}

const cpuScale = values["cpu-scale"] === undefined ? undefined : Number(values["cpu-scale"]);
if (cpuScale !== undefined && !(cpuScale > 0)) fail("--cpu-scale takes a number > 0 (e.g. 0.25)");
if (cpuScale !== undefined && values.unbudgeted) fail("--cpu-scale and --unbudgeted exclude each other");

stopChildrenOnSignal("experiment");
try {
  const { summary } = await runExperiment({
    experiment: name,
    variant: values.variant,
    profile: profileChosen,
    load:
      stepUsers !== undefined && profile.kind === "step"
        ? { ...profile, stepUsers }
        : rates !== undefined && profile.kind === "rate"
          ? { ...profile, rates }
          : undefined,
    seedSize: seedSize as SeedSize | undefined,
    dataDir: values["data-dir"],
    budgets: values.unbudgeted ? false : cpuScale === undefined ? true : { scale: cpuScale },
    say: (line) => console.log(`[experiment] ${line}`),
  });
  const { totals, capacity } = summary;
  console.log(
    `[experiment] ${totals.requests} requests, ${totals.failures} failures, ${totals.rps} req/s, p50 ${totals.p50_ms} ms, p95 ${totals.p95_ms} ms, p99 ${totals.p99_ms} ms`,
  );
  if (capacity) console.log(`[experiment] highest RPS within limits: ${capacity.highest_rps_within_limits ?? "none"}`);
  if (summary.rate)
    console.log(
      `[experiment] knee: ${summary.rate.knee_rps ?? "no step held"} req/s offered and held (lowest failed ${summary.rate.first_failed_rps ?? "none"}); peak achieved ${summary.rate.peak_achieved_rps ?? "–"} req/s`,
    );
  if (summary.generator_limited)
    console.log("[experiment] warning: Locust used about a whole core (generator_limited)");
} catch (error) {
  if (error instanceof MissingToolsError || error instanceof FlagsError) {
    console.error(`[experiment] ${error.message}`);
    process.exit(1);
  }
  // one line, exit 1, and whatever the run had started (PostgreSQL, Redis, services, Locust) stopped
  await failStart("experiment", error);
}
