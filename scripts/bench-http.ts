/**
 * bun run bench:http [--duration S] [--warmup S] [--connections N] [--threads N] [--repeat N] [--log-level L] [--floors]
 * The cost of the service's request path, in one run: wrk against (1) a bare Bun.serve answering a
 * course's JSON from memory (the ceiling), (2) the course service's GET /courses/:id served from
 * Redis (CACHE=redis) and (3) the same service reading PostgreSQL (CACHE=off). Everything it needs
 * (an embedded PostgreSQL, redis-server, the three servers) is started on free ports and stopped at
 * the end. Prints each target's median req/s over --repeat rounds and its ratio to the ceiling.
 * --floors adds two servers that show what the cached path cannot go below: Elysia alone, and a
 * bare Bun.serve doing one Redis GET per request (scripts/bench/floor-server.ts).
 * Not a test: run it on a quiet machine (docs/benchmarks.md).
 */
import { appendFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { LOG_LEVELS, migrate, SERVICES } from "@lab/shared";
import { SQL } from "bun";
import { runWrk, WrkMissingError, type WrkOptions, wrkBinary } from "./bench/wrk";
import { spread } from "./experiments/analysis/rate";
import { CLOCK_TICKS, readProcStat } from "./experiments/run/cpu";
import { parseCommandLine, wholeNumber } from "./lib/args";
import { ensureDatabases, freePort, startEmbeddedPostgres } from "./lib/postgres";
import { stopProcess } from "./lib/process";
import { RedisMissingError, redisServerBinary, startRedis } from "./lib/redis";
import { ROOT, waitReady } from "./lib/stack";

const line = parseCommandLine({
  name: "bench:http",
  usage:
    "usage: bun run bench:http [--duration S] [--warmup S] [--connections N] [--threads N] [--repeat N] [--log-level debug|info|warn|error] [--floors]",
  help: `wrk against a bare Bun.serve (the ceiling), the course service's GET /courses/:id from Redis and
from PostgreSQL; prints each one's median req/s and its ratio to the ceiling (docs/benchmarks.md).
  --duration S     seconds measured per target and round (default 10)
  --warmup S       seconds of wrk before each measurement, not counted (default 2)
  --connections N  wrk's open connections (default 64)
  --threads N      wrk's threads (default 2)
  --repeat N       rounds; the median is printed (default 3)
  --log-level L    the services' LOG_LEVEL (default warn, as the baseline was measured; info adds an access line per request)
  --floors         also measure Elysia alone and a bare Bun.serve doing one Redis GET: the cached path's floors`,
  options: {
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "64" },
    threads: { type: "string", default: "2" },
    repeat: { type: "string", default: "3" },
    "log-level": { type: "string", default: "warn" },
    floors: { type: "boolean", default: false },
  },
});
const { values, fail } = line;
const seconds = wholeNumber(line, "duration", values.duration ?? "", { min: 1, max: 300 });
const warmup = wholeNumber(line, "warmup", values.warmup ?? "", { min: 0, max: 60 });
const connections = wholeNumber(line, "connections", values.connections ?? "", { min: 1, max: 10_000 });
const threads = wholeNumber(line, "threads", values.threads ?? "", { min: 1, max: 64 });
const repeat = wholeNumber(line, "repeat", values.repeat ?? "", { min: 1, max: 20 });
if (threads > connections) fail("--threads cannot exceed --connections (wrk gives each thread a connection)");
const logLevel = values["log-level"] ?? "";
if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) fail(`--log-level takes ${LOG_LEVELS.join(", ")}`);

try {
  wrkBinary();
  redisServerBinary();
} catch (error) {
  if (!(error instanceof WrkMissingError || error instanceof RedisMissingError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const say = (text: string) => console.log(text);
const load = () =>
  os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
const COURSE_PATH = "/courses/1";

/** Everything the run started, stopped in reverse order whatever happened. */
const cleanups: (() => Promise<unknown>)[] = [];
const cleanUp = async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void cleanUp().then(() => process.exit(130)));
}

type Target = { name: string; url: string; pid: number };

/**
 * The CPU time (user and system) a process has used, in seconds, from /proc: per request it is a
 * steadier figure than req/s on a machine that is not quiet, since waiting for a core costs none.
 */
function cpuSeconds(pid: number): number {
  const stat = readProcStat(pid);
  if (!stat) throw new Error(`process ${pid} has gone: its CPU time cannot be read`);
  return stat.ticks / CLOCK_TICKS;
}

/** A server process of the benchmark, its output kept in `work` for the error message if it fails. */
async function startServer(name: string, entry: string, env: Record<string, string>, work: string) {
  const port = freePort();
  const logFile = join(work, `${name}.log`);
  const child = Bun.spawn(["bun", entry], {
    cwd: ROOT,
    env: { ...process.env, ...env, HOST: "127.0.0.1", PORT: String(port) },
    stdout: Bun.file(logFile),
    stderr: Bun.file(logFile),
  });
  cleanups.push(() => stopProcess(child, 5_000));
  const url = `http://127.0.0.1:${port}`;
  try {
    // the raw server answers /readyz like any path
    await waitReady({ name, process: child, url });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${(await Bun.file(logFile).text()).trim()}`);
  }
  return { url, pid: child.pid };
}

/** Every target must send the very body the service sends, or the comparison is not like for like. */
async function answerTheSame(body: string, servers: { url: string }[]) {
  for (const { url } of servers) {
    const text = await (await fetch(`${url}${COURSE_PATH}`)).text();
    if (text !== body) throw new Error(`${url}${COURSE_PATH} answered a different body:\n${text}\nexpected\n${body}`);
  }
}

async function prepare(work: string): Promise<Target[]> {
  const postgres = await startEmbeddedPostgres({
    dir: join(os.tmpdir(), `lab-bench-http-pg-${process.pid}`),
    port: freePort(),
    persistent: false,
    settings: { fsync: "off", synchronous_commit: "off" },
    log: (line) => appendFileSync(join(work, "postgres.log"), `${line}\n`),
  });
  cleanups.push(() => postgres.stop());
  const database = SERVICES.course.database;
  await ensureDatabases(postgres.url("postgres"), [database]);
  const sql = new SQL({ url: postgres.url(database), max: 1 });
  try {
    await migrate(sql, join(ROOT, "services/course/migrations"));
    await sql`
      INSERT INTO courses (id, title, description, level, price_cents, duration_hours, teacher_id, teacher_name)
      VALUES (1, 'Rust for TypeScript developers', ${"Ownership, borrowing and lifetimes, one small program at a time. ".repeat(4).trim()},
              'intermediate', 4900, 12, 1, 'Ada Teacher')
      ON CONFLICT (id) DO NOTHING`;
  } finally {
    await sql.close();
  }
  const redis = await startRedis();
  cleanups.push(() => redis.stop());

  const course = join(ROOT, "services/course/src/index.ts");
  // As deployed (deploy/k8s sets NODE_ENV=production), with a throw-away secret production demands.
  const common = {
    DATABASE_URL: postgres.url(database),
    LOG_LEVEL: logLevel,
    NODE_ENV: "production",
    JWT_SECRET: crypto.getRandomValues(new Uint8Array(32)).toHex(),
  };
  const [cached, uncached] = await Promise.all([
    startServer("course-redis", course, { ...common, CACHE: "redis", REDIS_URL: redis.url }, work),
    startServer("course-postgres", course, { ...common, CACHE: "off" }, work),
  ]);
  // The ceiling answers with exactly the body the service sends for this course.
  const answer = await fetch(`${uncached.url}${COURSE_PATH}`);
  const body = await answer.text();
  if (answer.status !== 200) throw new Error(`GET ${COURSE_PATH} answered ${answer.status}: ${body}`);
  const raw = await startServer("raw", join(import.meta.dir, "bench/raw-server.ts"), { BENCH_RAW_BODY: body }, work);
  await answerTheSame(body, [raw, cached]);
  const targets: Target[] = [
    { name: "raw Bun.serve, from memory", url: `${raw.url}${COURSE_PATH}`, pid: raw.pid },
    { name: "course GET /courses/:id, Redis", url: `${cached.url}${COURSE_PATH}`, pid: cached.pid },
    { name: "course GET /courses/:id, PostgreSQL", url: `${uncached.url}${COURSE_PATH}`, pid: uncached.pid },
  ];
  if (!values.floors) return targets;
  const floorServer = join(import.meta.dir, "bench/floor-server.ts");
  const [elysia, redisGet] = await Promise.all([
    startServer("floor-elysia", floorServer, { BENCH_RAW_BODY: body, BENCH_FLOOR: "elysia" }, work),
    startServer("floor-redis", floorServer, { BENCH_RAW_BODY: body, BENCH_FLOOR: "redis", REDIS_URL: redis.url }, work),
  ]);
  await answerTheSame(body, [elysia, redisGet]);
  return [
    ...targets,
    { name: "floor: Elysia alone, from memory", url: `${elysia.url}${COURSE_PATH}`, pid: elysia.pid },
    { name: "floor: Bun.serve + one Redis GET", url: `${redisGet.url}${COURSE_PATH}`, pid: redisGet.pid },
  ];
}

/** The middle of a target's rounds (there is at least one). */
const median = (numbers: number[]) => spread(numbers)?.median ?? Number.NaN;
const count = (value: number) => Math.round(value).toLocaleString("en-US");

const work = await mkdtemp(join(os.tmpdir(), "lab-bench-http-"));
cleanups.push(() => rm(work, { recursive: true, force: true }));
let exitCode = 0;
try {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  say(
    `bench:http — wrk ${threads} thread(s), ${connections} connections, ${seconds} s per run after ${warmup} s warm-up, ` +
      `${repeat} round(s); LOG_LEVEL=${logLevel}`,
  );
  say(`machine: ${cpu} × ${os.availableParallelism()}, Bun ${Bun.version}, load average ${load()}`);
  const targets = await prepare(work);
  const options: WrkOptions = { seconds, connections, threads };
  const rates = targets.map(() => [] as number[]);
  const cpuPerRequest = targets.map(() => [] as number[]);
  let socketErrors = 0;
  for (let round = 1; round <= repeat; round++) {
    // Round by round rather than target by target: a machine that gets busier hurts all three alike.
    for (const [index, target] of targets.entries()) {
      if (warmup > 0) await runWrk(target.url, { ...options, seconds: warmup });
      const cpuBefore = cpuSeconds(target.pid);
      const result = await runWrk(target.url, options);
      const micros = ((cpuSeconds(target.pid) - cpuBefore) / Math.max(result.requests, 1)) * 1e6;
      socketErrors += result.socketErrors;
      rates[index]?.push(result.requestsPerSecond);
      cpuPerRequest[index]?.push(micros);
      say(
        `  round ${round}/${repeat}  ${target.name.padEnd(36)} ${count(result.requestsPerSecond).padStart(9)} req/s` +
          `  ${micros.toFixed(1).padStart(6)} µs CPU/request`,
      );
    }
  }
  const medians = rates.map(median);
  const cpuMedians = cpuPerRequest.map(median);
  const ceiling = medians[0] as number;
  const ceilingCpu = cpuMedians[0] as number;
  say("");
  say(
    `${"target".padEnd(36)} ${"req/s (median)".padStart(14)}  ratio to raw  ${"µs CPU/request".padStart(14)}  raw's CPU / its CPU`,
  );
  for (const [index, target] of targets.entries()) {
    const value = medians[index] as number;
    const micros = cpuMedians[index] as number;
    say(
      `${target.name.padEnd(36)} ${count(value).padStart(14)}  ${(value / ceiling).toFixed(2).padStart(12)}  ` +
        `${micros.toFixed(1).padStart(14)}  ${(ceilingCpu / micros).toFixed(2).padStart(19)}`,
    );
  }
  say(`load average at the end: ${load()}${socketErrors ? `; wrk socket errors: ${socketErrors}` : ""}`);
} catch (error) {
  console.error(`bench:http failed: ${error instanceof Error ? error.message : error}`);
  exitCode = 1;
} finally {
  await cleanUp();
}
process.exit(exitCode);
