import { mkdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { SERVICE_NAMES, type ServiceName, serviceUrlVar } from "@lab/shared";
import { SQL } from "bun";
import { freePort } from "../lib/postgres";
import { type RedisServer, startRedis } from "../lib/redis";
import { ROOT, type Stack, type StackOptions, startStack } from "../lib/stack";
import { LAB_PASSWORD } from "../seed/accounts";
import { seedDatabases } from "../seed/load";
import { DEFAULT_SEED, DEMO_SIZES, FULL_SIZES, type SeedSizes } from "../seed/sizes";
import { SEARCH_TERMS } from "../seed/vocabulary";
import { CpuSampler, listProcesses } from "./cpu";
import { explainSearch } from "./explain";
import { EXPERIMENTS_DIR, loadExperiment } from "./flags";
import { AGGREGATED, csvFiles, readStats } from "./locust-csv";
import { describeMachine } from "./machine";
import {
  locustLoadArgs,
  PROFILES,
  type ProfileName,
  type ProfileSettings,
  plannedSeconds,
  type SeedSize,
} from "./profiles";
import { EXPLAIN_FILE, writeRunReport } from "./report";
import type { RunRecord, Summary } from "./summary";
import { assertTools, findTool, requiredTools } from "./tools";

/** The experiments' own PostgreSQL data (the full seed is loaded once and kept), apart from `bun run start`'s. */
export const EXPERIMENT_DATA_DIR = join(ROOT, ".data/experiments/postgres");

export type RunOptions = {
  experiment: string;
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
  say?: (line: string) => void;
};

export type RunResult = { dir: string; summary: Summary };

export const SEED_SIZES: Record<SeedSize, SeedSizes> = { full: FULL_SIZES, small: DEMO_SIZES };
/** Extra time Locust gets past its planned run (start-up, writing the CSV files) before it is stopped. */
const LOCUST_GRACE_S = 60;
const LOCUST_KILL_AFTER_MS = 15_000;
/** Accounts handed to Locust: enough that concurrent users rarely share one. */
const LOCUST_STUDENTS = 5_000;
const LOCUST_TEACHERS = 1_000;

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
  const experiment = await loadExperiment(options.experiment, experimentsDir);
  const settings = options.load ?? PROFILES[options.profile];
  const load: ProfileSettings = { ...settings, seedSize: options.seedSize ?? settings.seedSize };
  assertTools(requiredTools(experiment.flags));

  const id = runId(options.profile);
  const dir = join(options.resultsDir ?? join(experiment.dir, "results"), id);
  await mkdir(join(dir, "metrics"), { recursive: true });
  const dataDir = options.dataDir ?? EXPERIMENT_DATA_DIR;
  say(`${experiment.name}, ${options.profile} profile: results in ${dir}`);

  let redis: RedisServer | undefined;
  let stack: Stack | undefined;
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
    stack = await startStack({
      env,
      dataDir,
      ports: freePorts(options.ports),
      logFile: join(dir, "stack.log"),
      say,
    });
    const seed = await ensureSeed(stack.databaseUrls, SEED_SIZES[load.seedSize], say);
    const inputFile = join(dataDir, "..", "locust-input.json");
    await writeLocustInput(stack.databaseUrls.identity, inputFile);
    await warmUp(stack, load.warmupSeconds);

    const locust = await runLocust({ dir, stack, load, inputFile, say, groups: processGroups(stack, redis) });
    await saveMetrics(stack, join(dir, "metrics"));
    await Bun.write(
      join(dir, EXPLAIN_FILE),
      await explainSearch(stack.databaseUrls.course, { common: SEARCH_TERMS.common[0]!, rare: SEARCH_TERMS.rare[0]! }),
    );
    const record: RunRecord = {
      experiment: experiment.name,
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
      seed,
      cpu: locust.cpu,
      machine: await describeMachine(stack.databaseUrls.identity),
    };
    await Bun.write(join(dir, "run.json"), `${JSON.stringify(record, null, 2)}\n`);
  } finally {
    await stack?.stop();
    await redis?.stop();
  }
  const summary = await writeRunReport(dir);
  say(`report: ${join(dir, "report.md")}`);
  return { dir, summary };
}

function freePorts(given: StackOptions["ports"] = {}): NonNullable<StackOptions["ports"]> {
  const ports: NonNullable<StackOptions["ports"]> = { ...given };
  for (const name of [...SERVICE_NAMES, "web", "postgres", "pgbouncer"] as const) ports[name] ??= freePort();
  return ports;
}

const SEED_COUNTS: Record<keyof SeedSizes, [ServiceName, string]> = {
  users: ["identity", "users"],
  courses: ["course", "courses"],
  enrollments: ["enrollment", "enrollments"],
  payments: ["payment", "payments"],
};

async function countRows(urls: Record<ServiceName, string>): Promise<Record<keyof SeedSizes, number>> {
  const entries = await Promise.all(
    Object.entries(SEED_COUNTS).map(async ([key, [service, table]]) => {
      const sql = new SQL({ url: urls[service], max: 1 });
      try {
        const [row] = await sql.unsafe(`SELECT count(*)::int AS n FROM ${table}`);
        return [key, row.n as number] as const;
      } finally {
        await sql.close();
      }
    }),
  );
  return Object.fromEntries(entries) as Record<keyof SeedSizes, number>;
}

/**
 * The seeded volume the profile needs. Runs only add rows, so counts at or above the sizes mean the
 * seed is there; anything short is reseeded from scratch (`--reset`) in the experiments' own database.
 */
export async function ensureSeed(urls: Record<ServiceName, string>, sizes: SeedSizes, say: (line: string) => void) {
  const before = await countRows(urls);
  const short = (Object.keys(sizes) as (keyof SeedSizes)[]).filter((key) => before[key] < sizes[key]);
  if (!short.length) {
    say(`seed present: ${JSON.stringify(before)}`);
    return before;
  }
  say(`seeding ${JSON.stringify(sizes)} (short: ${short.join(", ")}; had ${JSON.stringify(before)})`);
  await seedDatabases({ urls, sizes, seed: DEFAULT_SEED, reset: true, say });
  return countRows(urls);
}

/** What locustfile.py reads: the one password, seeded accounts and the seed's search terms. */
export async function writeLocustInput(identityUrl: string, file: string) {
  const sql = new SQL({ url: identityUrl, max: 1 });
  try {
    const students: { email: string }[] =
      await sql`SELECT email FROM users WHERE role = 'student' ORDER BY id LIMIT ${LOCUST_STUDENTS}`;
    const teachers: { email: string }[] =
      await sql`SELECT email FROM users WHERE role = 'teacher' AND is_verified ORDER BY id LIMIT ${LOCUST_TEACHERS}`;
    const input = {
      password: LAB_PASSWORD,
      students: students.map((row) => row.email),
      teachers: teachers.map((row) => row.email),
      vocabulary: SEARCH_TERMS,
    };
    await Bun.write(file, JSON.stringify(input));
  } finally {
    await sql.close();
  }
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

const childrenNamed = (parent: number, program: string) =>
  listProcesses()
    .filter((stat) => stat.ppid === parent && stat.name === program)
    .map((stat) => stat.pid);

async function runLocust(input: {
  dir: string;
  stack: Stack;
  load: ProfileSettings;
  inputFile: string;
  groups: Record<string, number[]>;
  say: (line: string) => void;
}) {
  const { dir, stack, load } = input;
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
      PYTHONDONTWRITEBYTECODE: "1",
    },
    stdout: log,
    stderr: log,
  });
  const sampler = new CpuSampler({ locust: [child.pid], ...input.groups });
  sampler.start();
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
