import { join } from "node:path";
import type { SeedSizes } from "../../seed/sizes";
import type { Flags } from "./flags";
import type { ProfileName, ProfileSettings, RateLoad } from "./profiles";

/**
 * The results format, declared once: what a run leaves in experiments/<experiment>/results/<run-id>/.
 * run/ writes these files, analysis/ and report/ read them, and the Lab page replays a run from its
 * run.json and timeline.json (web-htmx/src/lab/run.ts). A field added after runs were recorded is
 * optional, and whoever reads it takes the runs without it.
 */

/** A run's results folder, experiments/<experiment>/results/<run-id>/: the files reports read and write. */
export const SUMMARY_FILE = "summary.json";
export const REPORT_FILE = "report.md";
export const EXPLAIN_FILE = "explain.txt";

/** Locust's `--csv PREFIX` files, named as Locust names them. */
export const CSV_PREFIX = "locust";
export const csvFiles = (dir: string) => ({
  stats: join(dir, `${CSV_PREFIX}_stats.csv`),
  history: join(dir, `${CSV_PREFIX}_stats_history.csv`),
  failures: join(dir, `${CSV_PREFIX}_failures.csv`),
  exceptions: join(dir, `${CSV_PREFIX}_exceptions.csv`),
});

/** The rate profile's own files: one row per finished step, and per step and endpoint (load/schedule.py). */
export const rateFiles = (dir: string) => ({
  steps: join(dir, `${CSV_PREFIX}_steps.csv`),
  endpoints: join(dir, `${CSV_PREFIX}_steps_endpoints.csv`),
  timeline: join(dir, "timeline.json"),
});

// run.json

/** The rate profile's sign-ins before the ladder, measured on their own (POST /login, argon2id). */
export type LoginMeasure = {
  logins: number;
  concurrency: number;
  seconds: number;
  per_second: number;
  /** CPU of the identity service per login over the sign-in phase. */
  identity_cpu_ms_per_login: number;
};

/** What the runner records about a run before Locust's numbers are read (run.json in the results folder). */
export type RunRecord = {
  experiment: string;
  /** The experiment's variant, when one ran (results/flags.ts); `flags` are the variant's. */
  variant?: string;
  run_id: string;
  profile: ProfileName;
  load: ProfileSettings;
  flags: Flags;
  services: string[];
  /** When Locust was started and when it exited. */
  started_at: string;
  finished_at: string;
  /** The Locust command line as run. */
  command: string[];
  /** The runner's own command line. */
  runner_command: string[];
  locust_exit_code: number | null;
  seed: Record<string, number>;
  /** How the run's data started: copied from the seed's templates, with the search words' match counts. */
  data?: SeedStart;
  logins?: LoginMeasure;
  cpu: CpuReport;
  /** Absent in runs made before budgets existed. */
  budgets?: BudgetRecord;
  calibration?: Calibration;
  /** The same, timed again once the load was over (absent in runs before 2026-12-07 17:00). */
  calibration_after?: Calibration;
  /** The knee expected before the run from the rung before's costs and these budgets (02 on, budgeted). */
  prediction?: RungPrediction | null;
  machine: Machine;
};

/** How a run's data started, recorded in run.json. */
export type SeedStart = {
  /** "created": seeded now and templated; "cloned": copied from the templates. */
  source: "created" | "cloned";
  rows: Record<keyof SeedSizes, number>;
  search_terms: Record<string, number>;
  /** The seed's own counts: a run whose counts differ did not start from the seed. */
  expected_search_terms: Record<string, number>;
  /**
   * The pinned planner statistics' id, or "sampled". Absent in runs made before the pin; the committed
   * ones all cloned the templates the snapshot was then taken from.
   */
  statistics?: string;
  reset_ms: number;
};

/** CPU of each process group over the Locust run, sampled from /proc (run/cpu.ts). */
export type CpuReport = {
  wall_seconds: number;
  window_seconds: number;
  clock_ticks: number;
  groups: Record<string, CpuGroupReport>;
};
export type CpuGroupReport = {
  /** CPU seconds (user + system) used by the group's processes while sampling. */
  cpu_seconds: number;
  /** cpu_seconds / wall seconds: 1.0 is one whole core. */
  cores_mean: number;
  /** The busiest window of `window_seconds`, in cores. */
  cores_peak: number;
  processes: number;
};

/** The kinds of process deploy/cpu-budgets.yaml gives a limit (run/budgets.ts). */
export type BudgetComponent = "service" | "web" | "postgres" | "pgbouncer" | "redis";
export type CgroupVersion = "v1" | "v2";

/** How a run's components were budgeted (deploy/cpu-budgets.yaml × scale), or why they were not: run.json's `budgets`. */
export type BudgetRecord =
  | { mode: "unbudgeted"; reason: string }
  | {
      mode: `cgroup ${CgroupVersion}`;
      scale: number;
      period_us: number;
      /** Cores per process of each kind. */
      per_process: Record<BudgetComponent, number>;
      /** The same in reference cores (the table × scale), and the slowdown that turned them into per_process (run/budgets.ts); absent before 2026-12-07 19:00. */
      reference_per_process?: Record<BudgetComponent, number>;
      slowdown?: Slowdown;
      /** Each component's cores in all and its cgroups (one per worker of a service with WORKERS>1). */
      components: Record<string, { cores: number; cgroups: string[] }>;
    };

/**
 * How much more CPU than the reference a machine needed that day for the same work (run/budgets.ts:
 * slowdownOf): 1.2 means 20 % more, so each budget got 1.2 × its cores. `machine` from the Bun
 * calibrations, `postgres` from PostgreSQL's own scan.
 */
export type Slowdown = { machine: number; postgres: number };

/** The slowdown that scales a component's budget and cost: PostgreSQL's own, the machine's for every other (Locust's included). */
export const componentSlowdown = (component: string, slowdown: Slowdown) =>
  component === "postgres" ? slowdown.postgres : slowdown.machine;

/** run.json's `calibration`: fixed pieces of work timed before the run (run/calibration.ts). */
export type Calibration = {
  /** CPU ms of one Bun.password.hash (argon2id, Bun's defaults, as identity hashes): median of the rounds. */
  password_hash_cpu_ms: number;
  /** CPU ms of JSON_ROUNDS stringify + parse round trips of a 20-course page: median of the rounds. */
  json_cpu_ms: number;
  rounds: number;
  /** CPU ms of PostgreSQL's backend to scan 100,000 of the seed's courses (run/calibration.ts); absent before 2026-12-07 19:00. */
  postgres_scan_cpu_ms?: number;
};

export type ComponentCost = {
  component: string;
  /** CPU ms per achieved request at the previous rung's knee (median over its runs), in the reference's ms when budgets carry a slowdown. */
  cpu_ms_per_request: number;
  /** This rung's cores for it (the machine's cores for "machine"), in reference cores likewise. */
  cores: number;
  /** cores ÷ cost: the rate at which it would run out. */
  limit_rps: number;
};

export type KneePrediction = {
  knee_rps: number;
  /** The component whose budget runs out first. */
  limiting: string;
  costs: ComponentCost[];
  /** Budgeted components of this rung with no cost measured in the previous one (a fix adds them: PgBouncer, Redis). */
  unmeasured: string[];
};

/** run.json's `prediction`: made before the load starts, from the rung before's committed runs. */
export type RungPrediction = KneePrediction & {
  /** The rung whose costs were used, and its runs (results folder names). */
  from: string;
  runs: string[];
};

/** The machine a run was made on (run/machine.ts). */
export type Machine = {
  cpu_model: string;
  cores: number;
  memory_bytes: number;
  os: string;
  bun: string;
  postgres: string;
  locust: string;
  python: string;
};

// timeline.json

/**
 * Every second of the run: each process group's CPU ticks (run/cpu.ts), each service's /metrics
 * figures (run/metrics-sampler.ts) and the saturation counters (run/budgets.ts), at wall-clock times.
 */
export type Timeline = {
  clock_ticks: number;
  cores: number;
  /** What one group can use at most, in cores (a single-threaded process: 1). */
  group_capacity: Record<string, number>;
  cpu: { at: number; ticks: Record<string, number> }[];
  metrics: { at: number; services: Record<string, ServicePoint> }[];
  /** The services' latency histogram bounds in seconds (their LATENCY_BUCKETS), for `latency_buckets`. */
  latency_bounds?: number[];
  /** Throttling per budgeted component, CPU pressure and Bun's main threads, once a second (runs since budgets). */
  saturation?: SaturationPoint[];
};

/** The figures read from one service's /metrics (counters are totals since the process started). */
export type ServicePoint = {
  pool_size: number;
  pool_in_use: number;
  pool_waiting: number;
  pool_exhausted_total: number;
  responses_total: number;
  responses_503_total: number;
  eventloop_lag_p99_s: number;
  cache_hit_total: number;
  cache_miss_total: number;
  /** Queries run, and those that first queued for a connection with the seconds they queued (counters). */
  db_queries_total?: number;
  pool_waits_total?: number;
  pool_wait_seconds_total?: number;
  /** What the Lab page plots from a run (web-htmx/src/lab/run.ts): responses by class, latency histogram. */
  responses_4xx_total?: number;
  responses_5xx_total?: number;
  /** Responses at or under each of the timeline's `latency_bounds`, every route added up. */
  latency_buckets?: number[];
};

/** One second of saturation counters: throttling per component, the machine's CPU pressure, Bun's main threads. */
export type SaturationPoint = {
  at: number;
  /** PSI "some" total in µs (null where the kernel has no PSI). */
  psi_some_us: number | null;
  /** Throttling counters per component, its groups added up (absent when unbudgeted). */
  throttling: Record<string, ThrottleCounters>;
  /** CPU ticks of the JavaScript (main) thread of each of a component's Bun processes. */
  main_thread_ticks: Record<string, number[]>;
};

/** One cgroup's throttling counters (cpu.stat), throttled time in seconds. */
export type ThrottleCounters = { periods: number; throttled: number; throttled_s: number };

// locust_steps.csv and locust_steps_endpoints.csv (load/schedule.py)

/**
 * A step's verdict as load/judge.py wrote it, the one place a step is judged: held, failed, or
 * inconclusive (the load generator, not the server, was the limit).
 */
export type StepVerdict = "held" | "failed" | "inconclusive";

/** A step as load/schedule.py measured it (times in epoch seconds, latencies in ms). */
export type RateStepRow = {
  step: number;
  offered_rps: number;
  started_at: number;
  measured_from: number;
  ended_at: number;
  measured_s: number;
  /** Slots the schedule offered in the measured window, and those that found every user busy. */
  slots: number;
  dropped: number;
  requests: number;
  failures: number;
  achieved_rps: number;
  error_ratio: number;
  /** From each request's send, as Locust times it. */
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  /**
   * From each request's scheduled time (what a user arriving then waited), the latency the verdict
   * judges, on its p99 or, with too few responses for one, its p95 (`latency_basis`); with the
   * generator's CPU (cores) and lag behind its schedule. Absent in runs recorded before they were.
   */
  scheduled_p50_ms?: number;
  scheduled_p99_ms?: number;
  scheduled_max_ms?: number;
  latency_basis?: "p99" | "p95";
  generator_cores?: number;
  lag_p99_ms?: number;
  /** After a failed step: load-free seconds until its requests in flight returned, and how many had not. */
  drained_s?: number;
  in_flight_after_drain?: number;
  verdict: StepVerdict;
  /** Why a step was not held, in words with their numbers (not recorded in runs before verdicts were). */
  reasons: string[];
};

export type RateEndpointRow = {
  step: number;
  name: string;
  requests: number;
  failures: number;
  p50_ms: number | null;
  p99_ms: number | null;
  /** The action's share in the mix's declared table (absent in older runs). */
  declared_share: number | null;
};

// summary.json

/** summary.json: run.json's record, Locust's numbers and what analysis/summary.ts reads from them. */
export type Summary = RunRecord & {
  duration_s: number;
  totals: EndpointSummary;
  endpoints: EndpointSummary[];
  failures: FailureRow[];
  /** Exceptions raised in the locustfile's tasks: none in a sound run. */
  exceptions: ExceptionRow[];
  capacity: CapacityResult | null;
  rate: RateResult | null;
  /** The load generator used about a whole core somewhere in the run: its limit, not the system's, may be what was measured. */
  generator_limited: boolean;
};

export type EndpointSummary = {
  method: string;
  name: string;
  requests: number;
  failures: number;
  failure_ratio: number;
  rps: number;
  avg_ms: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number;
};

export type CapacityStep = {
  users: number;
  /** Seconds from the start of the run. */
  start_s: number;
  end_s: number;
  /** Seconds measured: from the end of the ramp plus Locust's 10 s percentile window to the end of the step. */
  measured_s: number;
  requests: number;
  failures: number;
  rps: number;
  error_ratio: number;
  /** The highest p99 of Locust's 10 s window seen during the measured part of the step. */
  p99_ms: number;
  within_limits: boolean;
};

export type CapacityResult = {
  p99_limit_ms: number;
  error_limit: number;
  steps: CapacityStep[];
  /** The last step before the first one over the limits (null when even the first step was over). */
  last_within: CapacityStep | null;
  first_over: CapacityStep | null;
  /** The highest RPS of a step held within the limits before the first step over them. */
  highest_rps_within_limits: number | null;
};

export type FailureRow = { method: string; name: string; error: string; occurrences: number };
/** An exception raised inside a task (a scenario bug, not a request failure). */
export type ExceptionRow = { count: number; message: string; traceback: string };

export type RateResult = {
  limits: Pick<RateLoad, "p99LimitMs" | "errorLimit" | "heldShare"> & Partial<Pick<RateLoad, "droppedLimit">>;
  steps: RateStep[];
  /**
   * The run's headline: the highest offered rate held below the lowest one failed (the bisection's
   * bracket; with no step failed, the highest held).
   */
  knee_rps: number | null;
  /** The lowest offered rate the server failed: the bracket's top, the step its saturation is read at. */
  first_failed_rps: number | null;
  /** The most requests per second answered in any step's window, a continuous measure beside the knee. */
  peak_achieved_rps?: number | null;
  /** The first step not held, when the generator was the limit: the knee is then a lower bound. */
  inconclusive_rps?: number | null;
  /** Each endpoint's share in the mix's declared table. */
  declared_shares?: Record<string, number> | null;
  /** The busiest resource (not the machine as a whole) at the knee and at the first step not held. */
  saturated_at_knee: ResourceUse | null;
  saturated_at_failure: ResourceUse | null;
};

export type RateStep = RateStepRow & {
  held: boolean;
  /** The verdict's reasons (the name older summaries use). */
  broke: string[];
  rare_search_p99_ms: number | null;
  /** Each endpoint's share of the step's requests. */
  shares?: Record<string, number>;
  use: WindowUse | null;
};

export type WindowUse = {
  from: number;
  to: number;
  cpu_cores: Record<string, number>;
  machine_cores: number;
  services: Record<string, ServiceWindow>;
  /** The busiest Bun process's event-loop use per component: its main thread's CPU share (null before the counters). */
  event_loop: Record<string, number>;
  /** Share of the window some task waited for a CPU on this machine (PSI), null where unknown. */
  cpu_pressure: number | null;
  /** Every resource by saturation, most saturated first. */
  ranked: ResourceUse[];
};

export type ServiceWindow = {
  pool_size: number;
  pool_in_use_mean: number;
  pool_waiting_max: number;
  pool_exhausted: number;
  responses_503: number;
  eventloop_lag_p99_max_ms: number;
  cache_hits: number;
  cache_misses: number;
  /** Share of the window's queries that queued for a connection (null: a run from before the counters). */
  pool_wait_share: number | null;
  /** Requests queued for a connection on average over the window (their queued seconds ÷ the window). */
  pool_waiting_mean: number | null;
};

/** One resource's use over a window, against what it can give. */
export type ResourceUse = {
  resource: string;
  used: number;
  capacity: number;
  utilisation: number;
  unit: string;
  /**
   * How much it ran out, 0–1, from the counter that says so: a budgeted CPU's share of periods
   * throttled (at most its share of the budget used), a pool's share of queries that queued, the machine's CPU pressure (PSI "some");
   * utilisation where no such counter exists (unbudgeted groups, runs from before the counters).
   */
  saturation: number;
  /** What `saturation` was read from. */
  signal: "throttled periods" | "queued queries" | "pressure" | "waiting seen" | "utilisation";
  /** For a pool: the most requests seen waiting for a connection in a one-second sample. */
  waiting?: number;
  /** For a budgeted CPU: seconds throttled per second of the window. */
  throttled_s_per_s?: number;
};
