/**
 * bun run experiment <name> [--profile rate|standard|capacity|smoke] (default rate) [--seed-size full|small] [--data-dir DIR] [--step-users N] [--rates R,R,…]
 * --step-users: users added per step of the capacity profile (default 100): larger steps find the limit sooner, coarser.
 * --rates: the offered req/s of the rate profile's ladder, in rising order (default: the profile's).
 * Runs one experiment of experiments/ and writes experiments/<name>/results/<run-id>/.
 */
import { parseArgs } from "node:util";
import { experimentNames, FlagsError } from "./experiments/flags";
import { isProfileName, PROFILE_NAMES, PROFILES } from "./experiments/profiles";
import { runExperiment } from "./experiments/runner";
import { MissingToolsError } from "./experiments/tools";

const usage = `usage: bun run experiment <${experimentNames().join("|")}> [--profile ${PROFILE_NAMES.join("|")}] [--seed-size full|small] [--data-dir DIR] [--step-users N] [--rates R,R,…]`;

const { values, positionals } = (() => {
  try {
    return parseArgs({
      args: Bun.argv.slice(2),
      options: {
        profile: { type: "string", default: "rate" },
        "step-users": { type: "string" },
        rates: { type: "string" },
        "seed-size": { type: "string" },
        "data-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
  } catch (error) {
    // An unknown flag or a flag without its value: one line and the usage, not a stack trace.
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
})();
const [name] = positionals;
const seedSize = values["seed-size"];
if (values.help || !name || positionals.length > 1) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}
if (!isProfileName(values.profile) || (seedSize !== undefined && seedSize !== "full" && seedSize !== "small")) {
  console.error(usage);
  process.exit(2);
}

const stepUsers = values["step-users"] === undefined ? undefined : Number(values["step-users"]);
const profile = PROFILES[values.profile];
if (stepUsers !== undefined && (profile.kind !== "step" || !Number.isInteger(stepUsers) || stepUsers < 1)) {
  console.error("--step-users takes a whole number ≥ 1 and goes with --profile capacity");
  process.exit(2);
}

const rates = values.rates?.split(",").map(Number);
if (
  rates !== undefined &&
  (profile.kind !== "rate" ||
    !rates.length ||
    !rates.every((rate, index) => Number.isFinite(rate) && rate > 0 && (index === 0 || rate > rates[index - 1]!)))
) {
  console.error("--rates takes rising numbers > 0 separated by commas (e.g. 10,25,50) and goes with --profile rate");
  process.exit(2);
}

try {
  const { summary } = await runExperiment({
    experiment: name,
    profile: values.profile,
    load:
      stepUsers !== undefined && profile.kind === "step"
        ? { ...profile, stepUsers }
        : rates !== undefined && profile.kind === "rate"
          ? { ...profile, rates }
          : undefined,
    seedSize,
    dataDir: values["data-dir"],
    say: (line) => console.log(`[experiment] ${line}`),
  });
  const { totals, capacity } = summary;
  console.log(
    `[experiment] ${totals.requests} requests, ${totals.failures} failures, ${totals.rps} req/s, p50 ${totals.p50_ms} ms, p95 ${totals.p95_ms} ms, p99 ${totals.p99_ms} ms`,
  );
  if (capacity) console.log(`[experiment] highest RPS within limits: ${capacity.highest_rps_within_limits ?? "none"}`);
  if (summary.rate) console.log(`[experiment] knee: ${summary.rate.knee_rps ?? "no step held"} req/s offered and held`);
  if (summary.generator_limited)
    console.log("[experiment] warning: Locust used about a whole core (generator_limited)");
} catch (error) {
  const expected = error instanceof MissingToolsError || error instanceof FlagsError;
  console.error(`[experiment] ${expected ? (error as Error).message : (error as Error).stack}`);
  process.exit(1);
}
