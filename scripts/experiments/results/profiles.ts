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

/**
 * An open load (rate profile, load/schedule.py): a ladder of offered requests per second, each held
 * `settleSeconds` then measured for `measureSeconds`, by `users` users that only wait for the
 * schedule's slots. load/judge.py holds a step when achieved ≥ heldShare × offered, dropped slots <
 * droppedLimit, the p99 from each slot's scheduled time ≤ p99LimitMs and errors < errorLimit. After
 * the first failed step, load/ladder.py bisects between the highest rate held and the lowest failed
 * until they are within `bracket` (a step after a failed one starts once nothing is in flight, after
 * at most `drainSeconds` without load); the run
 * stops there, at the ladder's top, or at a step where the generator was the limit.
 */
export type RateLoad = {
  kind: "rate";
  rates: number[];
  settleSeconds: number;
  measureSeconds: number;
  users: number;
  spawnRate: number;
  p99LimitMs: number;
  errorLimit: number;
  heldShare: number;
  droppedLimit: number;
  bracket: number;
  drainSeconds: number;
  /** Accounts signed in before the ladder; the users share their tokens (no login inside a step). */
  tokenStudents: number;
  tokenTeachers: number;
};

export type Load = SteadyLoad | StepLoad | RateLoad;

export type SeedSize = "full" | "small";

export type ProfileSettings = Load & {
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
  /**
   * The rungs compared: offered req/s up the ladder until a step is not held; fine steps at the bottom
   * (the baseline's rare searches break the p99 limit between 20 and 35 req/s), coarser ones where the
   * indexed rungs are, about 1.25× apart. 5 s settle: the users
   * exist before the ladder and the rate switches at once, so only the queues of the step before need
   * to reach the new level (under a held step's p99 of 500 ms, well inside 5 s). After a failed step no
   * load until its requests in flight return (at most 60 s): a lower rate near the capacity would
   * otherwise serve the backlog inside its own window. 20 s measured: at 100 req/s that is 2,000 requests, 20 of them
   * above the p99 (below 15 req/s, under 300 responses, a step is judged on its p95). Bisecting the
   * knee to 5 % takes at most 4 more steps (the widest coarse step is ×2). 1,000 users hold 2,000
   * req/s up to 500 ms per answer, so the pool runs dry only when the server is past the limits anyway.
   */
  rate: {
    kind: "rate",
    rates: [5, 10, 20, 35, 50, 100, 200, 350, 500, 650, 800, 1000, 1250, 1600, 2000, 2500, 3200, 4000],
    settleSeconds: 5,
    measureSeconds: 20,
    users: 1000,
    spawnRate: 250,
    p99LimitMs: 500,
    errorLimit: 0.01,
    heldShare: 0.95,
    droppedLimit: 0.01,
    bracket: 0.05,
    drainSeconds: 60,
    tokenStudents: 100,
    tokenTeachers: 20,
    warmupSeconds: 15,
    seedSize: "full",
  },
  /** A few users for a few seconds on a small seed: proves the scenarios work (CI). */
  smoke: { kind: "steady", users: 6, spawnRate: 6, seconds: 8, warmupSeconds: 1, seedSize: "small" },
} as const satisfies Record<string, ProfileSettings>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** A profile's settings as a run records them (run.json's `load`), with the seed size it was given. */
export const withSeedSize = (settings: ProfileSettings, seedSize?: SeedSize): ProfileSettings => ({
  ...settings,
  seedSize: seedSize ?? settings.seedSize,
});

export function isProfileName(value: string): value is ProfileName {
  return value in PROFILES;
}
