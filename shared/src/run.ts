import { SQL } from "bun";
import type { AnyElysia } from "elysia";
import { openCache } from "./cache";
import { type Config, ConfigError, serviceConfig } from "./config";
import { Db, migrate } from "./db";
import { configureLog, log } from "./log";
import { Metrics } from "./metrics";
import { activeFlags, MAX_BODY_BYTES, type ServiceContext } from "./service";
import type { ServiceName } from "./services";
import { countProcess, joinWorkerGroup, superviseWorkers, workerIndex } from "./workers";

export type ServiceDefinition = {
  name: ServiceName;
  /** Folder of the service's numbered migrations. */
  migrations: string;
  /** Builds the service's app; the service plugin is already applied by the builder. */
  app: (context: ServiceContext) => AnyElysia | Promise<AnyElysia>;
  /** Work after migrations and before listening (e.g. matching indexes to a flag). */
  prepare?: (context: ServiceContext) => Promise<void>;
};

/**
 * Bun refuses a larger declared body itself, with a bare 413 and before the app sees it; up to
 * this size the service plugin answers a body over MAX_BODY_BYTES with its JSON 413 unread.
 */
const BODY_BACKSTOP_BYTES = 64 * MAX_BODY_BYTES;
const SHUTDOWN_GRACE_MS = 10_000;
const STARTUP_RETRY_MS = 15_000;

export function openDb(config: Config & { DATABASE_URL: string }) {
  return new Db({
    url: config.DATABASE_URL,
    max: config.DB_POOL_MAX,
    acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
    connectTimeoutSeconds: config.DB_CONNECT_TIMEOUT_S,
    prepare: config.DB_VIA_PGBOUNCER !== "1",
  });
}

/** Migrations go to the database directly: PgBouncer's transaction mode cannot hold the advisory lock's session. */
async function migrateWithRetry(definition: ServiceDefinition, url: string) {
  const deadline = Date.now() + STARTUP_RETRY_MS;
  for (;;) {
    const sql = new SQL({ url, max: 1, connectionTimeout: 5 });
    try {
      const applied = await migrate(sql, definition.migrations);
      if (applied.length) log("info", "migrations applied", { applied });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      log("warn", "database not ready, retrying migrations", { error: String(error) });
      await Bun.sleep(1000);
    } finally {
      await sql.close();
    }
  }
}

/** What every part of a service uses: pool, metrics and cache, opened from the configuration. */
function openContext(name: ServiceName, config: ReturnType<typeof serviceConfig>): ServiceContext {
  const db = openDb(config);
  const metrics = new Metrics(name, activeFlags(config));
  metrics.observeDb(db);
  countProcess(metrics);
  return { name, config, db, metrics, cache: openCache(config, name, metrics) };
}

/**
 * Starts a service: config, migrations, app, listen, and a graceful stop on SIGTERM/SIGINT.
 * With WORKERS>1 this process becomes the primary (migrations and `prepare` once, then it
 * supervises the workers, see ./workers.ts); each worker comes back here and only serves.
 */
export async function runService(definition: ServiceDefinition) {
  const config = configOrExit(definition.name, () => serviceConfig(definition.name));
  configureLog(definition.name, config.LOG_LEVEL, config.LOG_FORMAT);
  const worker = workerIndex();
  if (worker === null) {
    await migrateWithRetry(definition, config.DIRECT_DATABASE_URL ?? config.DATABASE_URL);
    if (config.WORKERS > 1) {
      const primary = openContext(definition.name, config);
      await definition.prepare?.(primary);
      await Promise.all([primary.db.close(), primary.cache.close()]);
      process.exit(await superviseWorkers(config.WORKERS));
    }
  }

  const context = openContext(definition.name, config);
  const { db, cache } = context;
  if (worker === null) await definition.prepare?.(context);
  const app = await definition.app(context);
  app.listen({
    port: config.PORT,
    hostname: config.HOST,
    maxRequestBodySize: BODY_BACKSTOP_BYTES,
    reusePort: config.WORKERS > 1,
  });
  log("info", "listening", { url: `http://${config.HOST}:${config.PORT}`, pid: process.pid, worker });
  // Joined once listening: the primary's list of siblings then means every worker serves.
  const group = worker === null ? null : joinWorkerGroup(context.metrics);

  stopOnSignal(async () => {
    await app.stop(false);
    group?.close();
    await Promise.all([db.close(), cache.close()]);
  });
}

/** The process's configuration, or one line naming what is wrong and exit code 1. */
export function configOrExit<C>(name: string, load: () => C): C {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${name}: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * A graceful stop on SIGTERM/SIGINT: `stop` (finish in-flight requests, close what is open) runs
 * once, and the process exits 1 if it takes longer than SHUTDOWN_GRACE_MS.
 */
export function stopOnSignal(stop: () => Promise<unknown>) {
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log("info", "stopping", { signal });
    const forced = setTimeout(() => {
      log("warn", "in-flight requests did not finish in time; exiting");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    await stop();
    clearTimeout(forced);
    process.exit(0);
  };
  process.on("SIGTERM", () => void onSignal("SIGTERM"));
  process.on("SIGINT", () => void onSignal("SIGINT"));
}
