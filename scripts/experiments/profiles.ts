/** Load profiles of `bun run experiment --profile NAME`. */

export type SteadyLoad = {
  kind: "steady";
  users: number;
  spawnRate: number;
  seconds: number;
};

/** Steps of `stepUsers` more users every `stepSeconds` until a step is over the limits (LoadTestShape in locustfile.py). */
export type StepLoad = {
  kind: "step";
  stepUsers: number;
  stepSeconds: number;
  maxUsers: number;
  spawnRate: number;
  p99LimitMs: number;
  errorLimit: number;
};

export type SeedSize = "full" | "small";

export type ProfileSettings = (SteadyLoad | StepLoad) & {
  /** Seconds of light requests before the measured run (compiled code paths, warm caches and pools). */
  warmupSeconds: number;
  seedSize: SeedSize;
};

export const PROFILES = {
  /** The roadmap's milestone 0.4 run: 100 users, spawn rate 10/s, 5 minutes. */
  standard: { kind: "steady", users: 100, spawnRate: 10, seconds: 300, warmupSeconds: 15, seedSize: "full" },
  /** Raise the load until p99 passes 500 ms or errors pass 1%; the headline is the highest RPS held within that. */
  capacity: {
    kind: "step",
    stepUsers: 100,
    stepSeconds: 40,
    maxUsers: 1500,
    spawnRate: 10,
    p99LimitMs: 500,
    errorLimit: 0.01,
    warmupSeconds: 15,
    seedSize: "full",
  },
  /** A few users for a few seconds on a small seed: proves the scenarios work (CI). */
  smoke: { kind: "steady", users: 6, spawnRate: 6, seconds: 8, warmupSeconds: 1, seedSize: "small" },
} as const satisfies Record<string, ProfileSettings>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

export function isProfileName(value: string): value is ProfileName {
  return value in PROFILES;
}

/** Longest a Locust run of this load may take before the runner stops it. */
export function plannedSeconds(load: SteadyLoad | StepLoad): number {
  if (load.kind === "steady") return load.seconds;
  return Math.ceil(load.maxUsers / load.stepUsers) * load.stepSeconds;
}

/** How Locust is told the load: -u/-r/-t for a steady load, the shape's environment for a step load. */
export function locustLoadArgs(load: SteadyLoad | StepLoad): { args: string[]; env: Record<string, string> } {
  if (load.kind === "steady") {
    return { args: ["-u", String(load.users), "-r", String(load.spawnRate), "-t", `${load.seconds}s`], env: {} };
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
