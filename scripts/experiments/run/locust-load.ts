import type { Load } from "../results/profiles";

/** How the runner hands a profile's load to Locust, and how long it lets Locust run it. */

/** The most bisection steps any bracket of the ladder can take to be within `bracket` (load/ladder.py's most_bisections). */
export function mostBisections(rates: readonly number[], bracket: number): number {
  let widest = 0;
  for (let i = 1; i < rates.length; i++) widest = Math.max(widest, Math.log(rates[i]! / rates[i - 1]!));
  let steps = 0;
  for (; widest > Math.log(1 + bracket); widest /= 2) steps++;
  return steps;
}

/** Longest a Locust run of this load may take before the runner stops it. */
export function plannedSeconds(load: Load): number {
  if (load.kind === "steady") return load.seconds;
  if (load.kind === "rate") {
    const bisections = mostBisections(load.rates, load.bracket);
    return (
      Math.ceil(load.users / load.spawnRate) +
      load.rates.length * (load.settleSeconds + load.measureSeconds) +
      bisections * (load.drainSeconds + load.settleSeconds + load.measureSeconds)
    );
  }
  return Math.ceil(load.maxUsers / load.stepUsers) * load.stepSeconds;
}

/** How Locust is told the load: -u/-r/-t for a steady load, the shape's environment for a step load. */
export function locustLoadArgs(load: Load): { args: string[]; env: Record<string, string> } {
  if (load.kind === "steady") {
    return { args: ["-u", String(load.users), "-r", String(load.spawnRate), "-t", `${load.seconds}s`], env: {} };
  }
  if (load.kind === "rate") {
    return {
      args: [],
      env: {
        LAB_PROFILE: "rate",
        LAB_RATES: load.rates.join(","),
        LAB_SETTLE_SECONDS: String(load.settleSeconds),
        LAB_MEASURE_SECONDS: String(load.measureSeconds),
        LAB_USERS: String(load.users),
        LAB_SPAWN_RATE: String(load.spawnRate),
        LAB_P99_LIMIT_MS: String(load.p99LimitMs),
        LAB_ERROR_LIMIT: String(load.errorLimit),
        LAB_HELD_SHARE: String(load.heldShare),
        LAB_DROPPED_LIMIT: String(load.droppedLimit),
        LAB_BRACKET: String(load.bracket),
        LAB_DRAIN_SECONDS: String(load.drainSeconds),
      },
    };
  }
  return {
    // No -t: Locust refuses it beside a shape, which stops the run itself (the runner's timeout is the backstop).
    args: [],
    env: {
      LAB_PROFILE: "capacity",
      LAB_STEP_USERS: String(load.stepUsers),
      LAB_STEP_SECONDS: String(load.stepSeconds),
      LAB_MAX_USERS: String(load.maxUsers),
      LAB_SPAWN_RATE: String(load.spawnRate),
      LAB_P99_LIMIT_MS: String(load.p99LimitMs),
      LAB_ERROR_LIMIT: String(load.errorLimit),
    },
  };
}
