import { mkdir, readFile, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { SERVICE_NAMES, serviceUrlVar } from "@lab/shared";
import { LATENCY_BUCKETS } from "@lab/shared/metrics";
import { freePort } from "../../lib/postgres";
import { type RedisServer, startRedis } from "../../lib/redis";
import { ROOT, type Stack, type StackOptions, startStack } from "../../lib/stack";
import { DEMO_SIZES, FULL_SIZES, type SeedSizes } from "../../seed/sizes";
import { SEARCH_TERMS } from "../../seed/vocabulary";
import { AGGREGATED, readStats } from "../analysis/locust-csv";
import { predictFromPrevious } from "../analysis/predict";
import { writeRunReport } from "../report/run-report";
import { EXPERIMENTS_DIR, loadExperiment } from "../results/flags";
import {
  type Calibration,
  csvFiles,
  EXPLAIN_FILE,
  type LoginMeasure,
  type RunRecord,
  rateFiles,
  type SeedStart,
  type Summary,
  type Timeline,
} from "../results/format";
import {
  PROFILES,
  type ProfileName,
  type ProfileSettings,
  type RateLoad,
  type SeedSize,
  withSeedSize,
} from "../results/profiles";
import { speedHeld } from "../results/runs";
import {
  budgetStack,
  budgetsFor,
  type CpuCgroups,
  LOAD_GENERATOR_CORES,
  type Placement,
  readBudgetTable,
  SaturationSampler,
  slowdownOf,
  workersOf,
} from "./budgets";
import { calibrate, calibratePostgres } from "./calibration";
import { CLOCK_TICKS, CpuSampler, childrenNamed, listProcesses } from "./cpu";
import { explainSearch } from "./explain";
import { type LocustInput, writeLocustInput } from "./locust-input";
import { locustLoadArgs, plannedSeconds } from "./locust-load";
import { describeMachine } from "./machine";
import { MetricsSampler } from "./metrics-sampler";
import { ProgressLine } from "./progress";
import { resetToSeed } from "./seed-state";
import { assertTools, findTool, requiredTools } from "./tools";

/** The experiments' own PostgreSQL data (the full seed is loaded once and kept), apart from `bun run start`'s. */
export const EXPERIMENT_DATA_DIR = join(ROOT, ".data/experiments/postgres");

export type RunOptions = {
  experiment: string;
  /** One of the experiment's variants (experiments/<name>/variants/<variant>/): its results go there. */
  variant?: string;
  profile: ProfileName;
  /** Overrides the profile's seed size (`--seed-size small` for a quick look at a full-size profile). */
  seedSize?: SeedSize;
  /** Replaces the profile's settings (tests and fixture recordings use shorter loads). */
  load?: ProfileSettings;
  dataDir?: string;
  /** Where experiments/<name>/ folders live (tests use a copy). */
  experimentsDir?: string;
  /** Where results/<run-id>/ goes; experiments/<name>/results by default. */
  resultsDir?: string;
  /** Ports of the stack; free ones are picked for anything not given. */
  ports?: StackOptions["ports"];
  /** CPU budgets (deploy/cpu-budgets.yaml): on by default; false runs unbudgeted, a number replaces the machine's scale. */
  budgets?: boolean | { scale: number };
  say?: (line: string) => void;
};

export type RunResult = { dir: string; summary: Summary };

export const SEED_SIZES: Record<SeedSize, SeedSizes> = { full: FULL_SIZES, small: DEMO_SIZES };
/** Extra time Locust gets past its planned run (start-up, writing the CSV files) before it is stopped. */
const LOCUST_GRACE_S = 60;
const LOCUST_KILL_AFTER_MS = 15_000;
/** Accounts handed to Locust: enough that concurrent users rarely share one. */

const runId = (profile: ProfileName) =>
  `${new Date()
    .toISOString()
    .replace(/[:.]/g, "-")
    .replace(/-\d{3}Z$/, "Z")}-${profile}`;

/**
 * One experiment run: flags applied, tools checked before anything starts, the stack (re)started on
 * free ports, the seed made sure of, a warm-up, Locust headless under a hard timeout while the CPU of
 * every process is sampled, then the results folder: Locust's CSV files, run.json, summary.json,
 * the search query's EXPLAIN, each service's /metrics, charts and report.md.
 */
export async function runExperiment(options: RunOptions): Promise<RunResult> {
  const say = options.say ?? (() => {});
  const experimentsDir = options.experimentsDir ?? EXPERIMENTS_DIR;
  const experiment = await loadExperiment(options.experiment, experimentsDir, options.variant);
  const load = withSeedSize(options.load ?? PROFILES[options.profile], options.seedSize);
  assertTools(requiredTools(experiment.flags));

  const id = runId(options.profile);
  const dir = join(options.resultsDir ?? join(experiment.dir, "results"), id);
  await mkdir(join(dir, "metrics"), { recursive: true });
  const dataDir = options.dataDir ?? EXPERIMENT_DATA_DIR;
  const variant = experiment.variant ? ` (variant ${experiment.variant})` : "";
  say(`${experiment.name}${variant}, ${options.profile} profile: results in ${dir}`);

  // Before anything starts, on a quiet machine: what a fixed piece of work costs here today.
  const calibration: Calibration = calibrate();
  say(
    `calibration: a password hash ${calibration.password_hash_cpu_ms} ms of CPU, the JSON loop ${calibration.json_cpu_ms} ms`,
  );

  let redis: RedisServer | undefined;
  let stack: Stack | undefined;
  let cgroups: CpuCgroups | undefined;
  try {
    // Production settings, as the roadmap's baseline ran its prod stack; the secret lives as long as the run.
    const env: Record<string, string> = {
      ...experiment.flags,
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      JWT_SECRET: `experiment-${crypto.randomUUID()}`,
    };
    if (experiment.flags.CACHE === "redis") {
      redis = await startRedis();
      env.REDIS_URL = redis.url;
      say(`Redis on ${redis.url}`);
    }
    let data: SeedStart | undefined;
    stack = await startStack({
      env,
      dataDir,
      ports: freePorts(options.ports),
      logFile: join(dir, "stack.log"),
      say,
      // Every run starts from the seed's own data (templates, scripts/experiments/run/seed-state.ts).
      beforeServices: async (urls, adminUrl) => {
        data = await resetToSeed({
          adminUrl,
          urls,
          sizes: SEED_SIZES[load.seedSize],
          stateFile: join(dataDir, "..", "seed-state.json"),
          say,
        });
      },
    });
    if (!data) throw new Error("the experiments need the embedded PostgreSQL (unset the *_DATABASE_URL variables)");
    const inputFile = join(dataDir, "..", "locust-input.json");
    const input = await writeLocustInput(stack.databaseUrls.identity, inputFile);
    await warmUp(stack, load.warmupSeconds);
    let logins: LoginMeasure | undefined;
    if (load.kind === "rate") {
      const signedIn = await signIn(stack, input, load);
      logins = signedIn.measure;
      await Bun.write(inputFile, JSON.stringify({ ...input, tokens: signedIn.tokens }));
      say(
        `signed in ${logins.logins} accounts before the ladder: ${logins.per_second} logins/s, ${logins.identity_cpu_ms_per_login} ms identity CPU each`,
      );
    }

    // PostgreSQL's own speed, on the seed's courses with a warm cache, before any budget.
    calibration.postgres_scan_cpu_ms = await calibratePostgres(stack.databaseUrls.course);
    say(`calibration: PostgreSQL scans 100,000 courses in ${calibration.postgres_scan_cpu_ms} ms of CPU`);
    const table = readBudgetTable();
    const budgets =
      options.budgets === false
        ? undefined
        : budgetsFor(
            table,
            typeof options.budgets === "object" ? options.budgets.scale : undefined,
            slowdownOf(calibration, table.reference_speed),
          );
    // The budgets start with the load: warm-up and sign-in (argon2, slow under a budget) are not measured.
    const groups = processGroups(stack, redis);
    const budgeted = budgetStack(id, budgets, {
      processes: stack.processes,
      postgres: groups.postgres ?? [],
      pgbouncer: groups.pgbouncer ?? [],
      redis: groups.redis ?? [],
    });
    say(budgeted.said);
    const spare = availableParallelism() - Object.values(budgeted.placement).reduce((sum, { cores }) => sum + cores, 0);
    if (budgets && spare < LOAD_GENERATOR_CORES)
      say(
        `the budgets leave ${spare.toFixed(2)} of ${availableParallelism()} cores, less than the ${LOAD_GENERATOR_CORES} the load generator needs: the machine may end the ladder before a budget does`,
      );
    cgroups = budgeted.cgroups;
    // Predict, then measure: the knee these budgets give with the rung before's measured costs.
    const prediction = await predictFromPrevious(experiment.name, budgeted.record, load, availableParallelism());
    if (prediction)
      say(
        `predicted knee ${prediction.knee_rps} req/s (${prediction.limiting} runs out first, costs at ${prediction.from}'s knees over ${prediction.runs.length} runs)`,
      );
    const placement = budgeted.placement;
    const locust = await runLocust({
      dir,
      stack,
      load,
      inputFile,
      say,
      groups,
      capacity: { ...groupCapacity(stack, experiment.flags, redis), ...budgetCapacity(placement) },
      saturation: new SaturationSampler(cgroups, cgroups ? placement : bunPlacement(stack)),
    });
    // Again once the load is over: the machine's speed can drift within a run (runs of one hour on
    // 2026-12-07 read 92 to 149 ms for the same hash).
    const calibrationAfter: Calibration = {
      ...calibrate(),
      postgres_scan_cpu_ms: await calibratePostgres(stack.databaseUrls.course),
    };
    say(`calibration after the load: ${speedHeld(calibration, calibrationAfter).said}`);
    await saveMetrics(stack, join(dir, "metrics"));
    await Bun.write(
      join(dir, EXPLAIN_FILE),
      await explainSearch(
        stack.databaseUrls.course,
        { common: SEARCH_TERMS.common[0]!, rare: SEARCH_TERMS.rare[0]! },
        // As the service runs it: prepared statements unless PgBouncer's transaction mode is between.
        { prepared: experiment.flags.DB_VIA_PGBOUNCER !== "1" },
      ),
    );
    const record: RunRecord = {
      experiment: experiment.name,
      ...(experiment.variant ? { variant: experiment.variant } : {}),
      run_id: id,
      profile: options.profile,
      load,
      flags: experiment.flags,
      services: Object.keys(stack.urls).filter((name) => name !== "web"),
      started_at: locust.startedAt.toISOString(),
      finished_at: locust.finishedAt.toISOString(),
      command: locust.command,
      runner_command: process.argv.map((arg) => arg.replace(`${ROOT}/`, "")),
      locust_exit_code: locust.exitCode,
      seed: data.rows,
      data,
      logins,
      cpu: locust.cpu,
      budgets: budgeted.record,
      calibration,
      calibration_after: calibrationAfter,
      prediction,
      machine: await describeMachine(stack.databaseUrls.identity),
    };
    await Bun.write(join(dir, "run.json"), `${JSON.stringify(record, null, 2)}\n`);
  } finally {
    await stack?.stop();
    await redis?.stop();
    const left = (await cgroups?.remove()) ?? [];
    if (left.length) say(`cgroups still holding processes, left in ${cgroups?.dir}: ${left.join(", ")}`);
  }
  // The runner drives the stages after its own too: the run's summary, charts and report.md (report/).
  const summary = await writeRunReport(dir);
  say(`report: ${join(dir, "report.md")}`);
  return { dir, summary };
}

/**
 * A distinct free port for everything not given. Each probe's port is closed again at once, so the
 * kernel may hand the same one out twice (05-workers' enrollment once got PostgreSQL's): ask again then.
 */
export function freePorts(given: StackOptions["ports"] = {}): NonNullable<StackOptions["ports"]> {
  const ports: NonNullable<StackOptions["ports"]> = { ...given };
  const taken = new Set(Object.values(ports));
  for (const name of [...SERVICE_NAMES, "web", "postgres", "pgbouncer"] as const) {
    if (ports[name] !== undefined) continue;
    let port = freePort();
    while (taken.has(port)) port = freePort();
    taken.add(port);
    ports[name] = port;
  }
  return ports;
}

/** A few seconds of the reads the load will make, so the first measured seconds do not pay for cold paths. */
async function warmUp(stack: Stack, seconds: number) {
  const course = stack.urls.course;
  const paths = [
    "/courses?limit=20&offset=0",
    "/courses?limit=20&offset=20",
    ...SEARCH_TERMS.common.map((term) => `/courses?q=${encodeURIComponent(term)}&limit=20&offset=0`),
    ...SEARCH_TERMS.rare.map((term) => `/courses?q=${encodeURIComponent(term)}&limit=20&offset=0`),
    "/courses/1",
  ];
  const deadline = Date.now() + seconds * 1000;
  let next = 0;
  const worker = async () => {
    while (Date.now() < deadline) {
      const path = paths[next++ % paths.length];
      await fetch(`${course}${path}`).then((response) => response.arrayBuffer());
    }
  };
  await Promise.all([worker(), worker()]);
}

/** Logins in flight at once while signing the token pool in: one per core keeps the hashes from queueing. */
const SIGN_IN_CONCURRENCY = 2;

/**
 * The rate profile's users share tokens signed in here, before the ladder and at a pace the identity
 * service bears (argon2id costs ~150 ms of CPU per login), so no step measures a wave of logins. The
 * sign-in is the login path's own measurement: logins per second at SIGN_IN_CONCURRENCY, CPU per login.
 */
export async function signIn(stack: Stack, input: LocustInput, load: RateLoad) {
  const accounts = [
    ...input.students.slice(0, load.tokenStudents).map((email) => ({ email, role: "students" as const })),
    ...input.teachers.slice(0, load.tokenTeachers).map((email) => ({ email, role: "teachers" as const })),
  ];
  const tokens: Record<"students" | "teachers", [string, string][]> = { students: [], teachers: [] };
  const identity = stack.processes.find((process) => process.name === "identity")!.pid;
  const identityCpu = new CpuSampler({ identity: [identity] });
  identityCpu.start();
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < accounts.length) {
      const account = accounts[next++]!;
      const response = await fetch(`${stack.urls.identity}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: account.email, password: input.password }),
        signal: AbortSignal.timeout(30_000),
      });
      if (response.status !== 200)
        throw new Error(`signing ${account.email} in: ${response.status} ${await response.text()}`);
      const body = (await response.json()) as { access_token: string };
      tokens[account.role].push([account.email, body.access_token]);
    }
  };
  await Promise.all(Array.from({ length: SIGN_IN_CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = identityCpu.stop().groups.identity!.cpu_seconds * 1000;
  const measure: LoginMeasure = {
    logins: accounts.length,
    concurrency: SIGN_IN_CONCURRENCY,
    seconds: Math.round(seconds * 100) / 100,
    per_second: Math.round((accounts.length / seconds) * 10) / 10,
    identity_cpu_ms_per_login: Math.round(cpuMs / accounts.length),
  };
  return { tokens, measure };
}

/** What each sampled group can use at most, in cores: a service its worker processes, PostgreSQL the machine. */
function groupCapacity(stack: Stack, flags: Record<string, string>, redis: RedisServer | undefined) {
  const cores = availableParallelism();
  const workers = Math.min(cores, Number(flags.WORKERS ?? 1) || 1);
  const capacity: Record<string, number> = { locust: 1, postgres: cores, pgbouncer: 1 };
  for (const { name } of stack.processes) capacity[name] = name === "web" ? 1 : workers;
  if (redis) capacity.redis = 1;
  return capacity;
}

/** Root pids of each process group whose CPU is sampled: each service, the web app, PostgreSQL, PgBouncer, Redis. */
function processGroups(stack: Stack, redis: RedisServer | undefined): Record<string, number[]> {
  const groups: Record<string, number[]> = {};
  for (const { name, pid } of stack.processes) groups[name] = [pid];
  // PostgreSQL (embedded) and PgBouncer are children of this process: found by their program name.
  for (const program of ["postgres", "pgbouncer"]) {
    const pids = childrenNamed(process.pid, program);
    if (pids.length) groups[program] = pids;
  }
  if (redis) groups.redis = [redis.pid];
  return groups;
}

async function runLocust(input: {
  dir: string;
  stack: Stack;
  load: ProfileSettings;
  inputFile: string;
  groups: Record<string, number[]>;
  capacity: Record<string, number>;
  saturation: SaturationSampler;
  say: (line: string) => void;
}) {
  const { dir, stack, load } = input;
  const files = rateFiles(dir);
  const progressFile = join(dir, ".progress.json");
  const locustBinary = findTool("locust") ?? "locust";
  const loadArgs = locustLoadArgs(load);
  const command = [
    "locust",
    "--headless",
    "-f",
    "locustfile.py",
    "--csv",
    // Relative to the project (Locust's working directory) when inside it, so run.json reads the same anywhere.
    join(dir, "locust").startsWith(`${ROOT}/`) ? relative(ROOT, join(dir, "locust")) : join(dir, "locust"),
    "--csv-full-history",
    "--only-summary",
    ...loadArgs.args,
  ];
  const serviceUrls = Object.fromEntries(SERVICE_NAMES.map((name) => [serviceUrlVar(name), stack.urls[name]]));
  const log = Bun.file(join(dir, "locust.log"));
  input.say(`locust: ${command.join(" ")}`);
  const startedAt = new Date();
  const child = Bun.spawn([locustBinary, ...command.slice(1)], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...serviceUrls,
      ...loadArgs.env,
      LAB_INPUT_FILE: input.inputFile,
      LAB_STEPS_FILE: files.steps,
      LAB_PROGRESS_FILE: progressFile,
      PYTHONDONTWRITEBYTECODE: "1",
    },
    stdout: log,
    stderr: log,
  });
  const groups = { locust: [child.pid], ...input.groups };
  const sampler = new CpuSampler(groups);
  sampler.start();
  input.saturation.start();
  // Every service's pools, 503s, event loop, cache and latency per second: the rate report's USE
  // tables and the Lab page's replay of the run (bun run screenshot).
  const metrics = new MetricsSampler(Object.fromEntries(SERVICE_NAMES.map((name) => [name, stack.urls[name]])));
  metrics.start();
  const progress = new ProgressLine(progressFile, plannedSeconds(load), input.say);
  progress.start();
  const limitMs = (plannedSeconds(load) + LOCUST_GRACE_S) * 1000;
  let timedOut = false;
  const stopper = setTimeout(() => {
    timedOut = true;
    input.say(`locust ran past ${limitMs / 1000} s: stopping it`);
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), LOCUST_KILL_AFTER_MS).unref();
  }, limitMs);
  const exitCode = await child.exited;
  const finishedAt = new Date();
  clearTimeout(stopper);
  const cpu = sampler.stop();
  const saturation = input.saturation.stop();
  progress.stop();
  await rm(progressFile, { force: true });
  const timeline: Timeline = {
    clock_ticks: CLOCK_TICKS,
    cores: availableParallelism(),
    group_capacity: input.capacity,
    cpu: sampler.timeline(),
    metrics: await metrics.stop(),
    latency_bounds: LATENCY_BUCKETS,
    saturation,
  };
  await Bun.write(files.timeline, JSON.stringify(timeline));
  const stats = csvFiles(dir).stats;
  const requests = (await Bun.file(stats).exists())
    ? ((await readStats(stats)).find((row) => row.name === AGGREGATED)?.requests ?? 0)
    : 0;
  if (requests === 0) {
    const tail = (await readFile(join(dir, "locust.log"), "utf8")).trim().split("\n").slice(-15).join("\n");
    throw new Error(`Locust made no requests (exit code ${exitCode}${timedOut ? ", timed out" : ""}):\n${tail}`);
  }
  return { command, exitCode: timedOut ? null : exitCode, cpu, startedAt, finishedAt };
}

/** Each service's /metrics right after the run: pool waits, 503s, cache hits, per-route histograms. */
async function saveMetrics(stack: Stack, dir: string) {
  for (const name of SERVICE_NAMES) {
    const response = await fetch(`${stack.urls[name]}/metrics`, { signal: AbortSignal.timeout(5000) });
    await Bun.write(join(dir, `${name}.prom`), await response.text());
  }
}

/** Budgeted components are judged against their budget, not a nominal core. */
const budgetCapacity = (placement: Placement) =>
  Object.fromEntries(Object.entries(placement).map(([name, { cores }]) => [name, cores]));

/** Unbudgeted, the event-loop use of each Bun process is still read: its service and its workers. */
function bunPlacement(stack: Stack): Placement {
  const all = listProcesses();
  const result: Placement = {};
  for (const { name, pid } of stack.processes) {
    const workers = workersOf(pid, all);
    result[name] = { groups: [], cores: 0, bun_pids: workers.length ? workers : [pid] };
  }
  return result;
}

export { writeLocustInput };
