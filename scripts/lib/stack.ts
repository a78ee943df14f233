import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { databaseUrlVar, SERVICE_NAMES, SERVICES, type ServiceName, serviceUrlVar, WEB_PORT } from "@lab/shared";
import { type PgBouncer, startPgBouncer } from "./pgbouncer";
import { type EmbeddedServer, ensureDatabases, startEmbeddedPostgres } from "./postgres";
import { LOGIN_REDIS_ARGS, type RedisServer, redisServerBinary, startRedis } from "./redis";

import { ROOT } from "./root";

export { ROOT };

export type StackOptions = {
  /** Extra environment for every process (experiment flags, JWT_SECRET…). */
  env?: Record<string, string>;
  /** Where the embedded PostgreSQL keeps its data (kept between runs). */
  dataDir?: string;
  /** Ports to use instead of the contract's (tests pick free ones). */
  ports?: Partial<Record<ServiceName | "web" | "postgres" | "pgbouncer" | "redis" | "loginRedis", number>>;
  /** Where each process's output goes: inherited by default, or a file. */
  logFile?: string;
  say?: (line: string) => void;
  /** Runs on the embedded server once its databases exist, before anything connects (the lab's data reset). */
  beforeServices?: (databaseUrls: Record<ServiceName, string>, adminUrl: string) => Promise<void>;
};

export type Stack = {
  urls: Record<ServiceName, string> & { web?: string };
  databaseUrls: Record<ServiceName, string>;
  embedded: boolean;
  /** With DB_VIA_PGBOUNCER=1: the PgBouncer the services talk to (databaseUrls stay the direct ones). */
  pgbouncer?: { port: number; adminUrl: string; urls: Record<ServiceName, string> };
  /** With CACHE=redis and no REDIS_URL given: the Redis started for the services. */
  redis?: { port: number; url: string; pid: number };
  /** Started beside `redis`: identity's login counters, which the cache must never evict. */
  loginRedis?: { port: number; url: string; pid: number };
  /** The service and web processes (a service with WORKERS>1 is its primary; the workers are its children). */
  processes: { name: string; pid: number }[];
  stop: () => Promise<void>;
};

export type Child = { name: string; process: Bun.Subprocess; url: string };

/** The services that exist in this checkout (later issues add theirs to services/). */
export const existingServices = () =>
  SERVICE_NAMES.filter((name) => existsSync(join(ROOT, "services", name, "src/index.ts")));
const webEntry = join(ROOT, "web-htmx/src/index.ts");

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 12_000;

export class PortInUseError extends Error {}

export function assertPortFree(host: string, port: number, owner: string) {
  try {
    Bun.listen({ hostname: host, port, socket: { data() {} } }).stop(true);
  } catch {
    throw new PortInUseError(
      `Port ${port} (${owner}) is already in use on ${host}: stop what holds it, or set ${owner.toUpperCase()}_PORT to another port.`,
    );
  }
}

const envPort = (name: string, fallback: number) => {
  const value = process.env[`${name.toUpperCase()}_PORT`];
  return value ? Number(value) : fallback;
};

/**
 * Where a running `bun run start` answers, as a command beside it finds it: each service at
 * `<SERVICE>_URL`, else HOST and `<SERVICE>_PORT` as the launcher picks them; the web app at WEB_PORT.
 */
export function runningStackUrls(): Record<ServiceName | "web", string> {
  const host = process.env.HOST ?? "127.0.0.1";
  const urls = Object.fromEntries(
    SERVICE_NAMES.map((name) => [
      name,
      (process.env[serviceUrlVar(name)] ?? `http://${host}:${envPort(name, SERVICES[name].port)}`).replace(/\/+$/, ""),
    ]),
  ) as Record<ServiceName, string>;
  return { ...urls, web: `http://${host}:${envPort("web", WEB_PORT)}` };
}

/**
 * Starts the platform: PostgreSQL (embedded unless every <SERVICE>_DATABASE_URL is set), its
 * databases, every service (each runs its migrations), and the web app; waits until all are ready.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const say = options.say ?? (() => {});
  const env = { ...options.env };
  const host = env.HOST ?? process.env.HOST ?? "127.0.0.1";
  const services = existingServices();
  const ports = Object.fromEntries(
    services.map((name) => [name, options.ports?.[name] ?? envPort(name, SERVICES[name].port)]),
  ) as Record<ServiceName, number>;
  const webPort = options.ports?.web ?? envPort("web", WEB_PORT);
  const withWeb = existsSync(webEntry);
  for (const name of services) assertPortFree(host, ports[name], name);
  if (withWeb) assertPortFree(host, webPort, "web");
  // CACHE=redis without a REDIS_URL: a Redis of its own, as DB_VIA_PGBOUNCER=1 gets its PgBouncer.
  const ownRedis = (env.CACHE ?? process.env.CACHE) === "redis" && !(env.REDIS_URL ?? process.env.REDIS_URL);
  const redisPort = options.ports?.redis ?? envPort("redis", 6379);
  const loginRedisPort = options.ports?.loginRedis ?? envPort("login_redis", 6380);
  if (ownRedis) {
    redisServerBinary(); // a missing program is said before anything starts
    assertPortFree("127.0.0.1", redisPort, "redis");
    assertPortFree("127.0.0.1", loginRedisPort, "login_redis");
  }

  const external = SERVICE_NAMES.every((name) => process.env[databaseUrlVar(name)]);
  let postgres: EmbeddedServer | undefined;
  const databaseUrls = {} as Record<ServiceName, string>;
  if (external) {
    for (const name of SERVICE_NAMES) databaseUrls[name] = process.env[databaseUrlVar(name)] as string;
    say("PostgreSQL: using the servers named by *_DATABASE_URL");
  } else {
    const pgPort = options.ports?.postgres ?? envPort("pg", 5432);
    assertPortFree("127.0.0.1", pgPort, "pg");
    const dir = options.dataDir ?? join(ROOT, ".data/postgres");
    const pgLog = join(dir, "..", "postgres.log");
    postgres = await startEmbeddedPostgres({
      dir,
      port: pgPort,
      persistent: true,
      log: (line) => appendFileSync(pgLog, `${line}\n`),
    });
    await ensureDatabases(
      postgres.url("postgres"),
      SERVICE_NAMES.map((name) => SERVICES[name].database),
    );
    for (const name of SERVICE_NAMES) databaseUrls[name] = postgres.url(SERVICES[name].database);
    say(`PostgreSQL: embedded, port ${pgPort}, data in ${dir}`);
    try {
      await options.beforeServices?.(databaseUrls, postgres.url("postgres"));
    } catch (error) {
      await postgres.stop();
      throw error;
    }
  }

  // DB_VIA_PGBOUNCER=1: services query through PgBouncer (transaction mode) and migrate directly.
  let pgbouncer: PgBouncer | undefined;
  if ((env.DB_VIA_PGBOUNCER ?? process.env.DB_VIA_PGBOUNCER) === "1") {
    const bouncerPort = options.ports?.pgbouncer ?? envPort("pgbouncer", 6432);
    assertPortFree("127.0.0.1", bouncerPort, "pgbouncer");
    const dir = join(options.dataDir ?? join(ROOT, ".data/postgres"), "..", "pgbouncer");
    try {
      pgbouncer = await startPgBouncer({ dir, port: bouncerPort, databases: databaseUrls });
    } catch (error) {
      await postgres?.stop();
      throw error;
    }
    say(`PgBouncer: transaction pooling, port ${bouncerPort}, config in ${dir}`);
  }
  let redis: RedisServer | undefined;
  let loginRedis: RedisServer | undefined;
  if (ownRedis) {
    try {
      redis = await startRedis({ port: redisPort });
      loginRedis = await startRedis({ port: loginRedisPort, settings: LOGIN_REDIS_ARGS });
    } catch (error) {
      await redis?.stop();
      await pgbouncer?.stop();
      await postgres?.stop();
      throw error;
    }
    env.REDIS_URL = redis.url;
    say(`Redis: cache for CACHE=redis, port ${redisPort}; identity's login counters, port ${loginRedisPort}`);
  }
  // identity's counters never share the cache's Redis, whose evictions would reset them
  const loginCounters = (name: ServiceName): Record<string, string> =>
    name === "identity" && loginRedis ? { REDIS_URL: loginRedis.url } : {};
  const viaBouncer = (name: ServiceName): Record<string, string> =>
    pgbouncer
      ? { DATABASE_URL: pgbouncer.urls[name] as string, DIRECT_DATABASE_URL: databaseUrls[name] }
      : { DATABASE_URL: databaseUrls[name] };

  const urls = Object.fromEntries(services.map((name) => [name, `http://${host}:${ports[name]}`])) as Stack["urls"];
  const callers = Object.fromEntries(services.map((name) => [serviceUrlVar(name), urls[name]]));
  const output = options.logFile ? Bun.file(options.logFile) : "inherit";
  // Decided here, where it is known whether a person watches the output: readable lines on a terminal.
  const logFormat =
    env.LOG_FORMAT ?? process.env.LOG_FORMAT ?? (output === "inherit" && process.stdout.isTTY ? "pretty" : "json");
  const children: Child[] = [];
  const spawn = (name: string, entry: string, port: number, extra: Record<string, string>) => {
    const child = Bun.spawn(["bun", entry], {
      cwd: ROOT,
      env: { ...process.env, ...env, ...callers, ...extra, HOST: host, PORT: String(port), LOG_FORMAT: logFormat },
      stdout: output,
      stderr: output,
    });
    children.push({ name, process: child, url: `http://${host}:${port}` });
  };
  for (const name of services) {
    spawn(name, join(ROOT, "services", name, "src/index.ts"), ports[name], {
      ...viaBouncer(name),
      ...loginCounters(name),
    });
  }
  if (withWeb) {
    urls.web = `http://${host}:${webPort}`;
    spawn("web", webEntry, webPort, {});
  }

  const stop = async () => {
    for (const child of children) child.process.kill("SIGTERM");
    const exited = Promise.all(children.map((child) => child.process.exited));
    const timeout = Bun.sleep(STOP_GRACE_MS).then(() => {
      for (const child of children) child.process.kill("SIGKILL");
    });
    await Promise.race([exited, timeout]);
    await redis?.stop();
    await loginRedis?.stop();
    await pgbouncer?.stop();
    await postgres?.stop();
  };

  try {
    await Promise.all(children.map((child) => waitReady(child)));
  } catch (error) {
    await stop();
    throw error;
  }
  const processes = children.map((child) => ({ name: child.name, pid: child.process.pid }));
  return {
    urls,
    databaseUrls,
    embedded: !external,
    processes,
    pgbouncer: pgbouncer && bouncerInfo(pgbouncer),
    redis: redis && { port: redis.port, url: redis.url, pid: redis.pid },
    loginRedis: loginRedis && { port: loginRedis.port, url: loginRedis.url, pid: loginRedis.pid },
    stop,
  };
}

const bouncerInfo = (bouncer: PgBouncer) => ({
  port: bouncer.port,
  adminUrl: bouncer.adminUrl,
  urls: bouncer.urls as Record<ServiceName, string>,
});

/** Polls the child's /readyz until it answers 200; fails early if the child exits. */
export async function waitReady(child: Child, timeoutMs = READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) {
      throw new Error(`${child.name} exited with code ${child.process.exitCode} while starting (see its output above)`);
    }
    try {
      const response = await fetch(`${child.url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  throw new Error(`${child.name} was not ready after ${timeoutMs / 1000} s`);
}
