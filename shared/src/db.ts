import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { SQL } from "bun";
import { serviceUnavailable, unprocessable } from "./errors";
import { Slots } from "./slots";

export type DbOptions = {
  url: string;
  /** Connections in the pool (DB_POOL_MAX). */
  max: number;
  /** How long a request may wait for a free connection before it is answered 503 (DB_ACQUIRE_TIMEOUT_MS). */
  acquireTimeoutMs: number;
  connectTimeoutSeconds?: number;
  /** Off behind PgBouncer in transaction mode, where a prepared statement may meet another server connection. */
  prepare?: boolean;
};

/**
 * A bun:sql pool with a bounded wait. bun:sql queues queries without limit when all `max`
 * connections are busy; here at most `max` queries are handed to it at once, and a caller that
 * cannot get a slot within `acquireTimeoutMs` fails fast with 503 and Retry-After.
 */
export class Db {
  readonly sql: SQL;
  readonly max: number;
  private readonly slots: Slots;
  /** Called after each query with its duration in seconds and whether it succeeded. */
  onQuery?: (seconds: number, ok: boolean) => void;

  constructor(options: DbOptions) {
    this.max = options.max;
    this.slots = new Slots(options.max, options.acquireTimeoutMs, () =>
      serviceUnavailable(
        `Database busy: all ${options.max} connections stayed in use for ${options.acquireTimeoutMs} ms`,
        1,
      ),
    );
    this.sql = new SQL({
      url: options.url,
      max: options.max,
      connectionTimeout: options.connectTimeoutSeconds ?? 5,
      idleTimeout: 60,
      prepare: options.prepare ?? true,
    });
  }

  get inUse() {
    return this.slots.inUse;
  }

  get waiting() {
    return this.slots.waiting;
  }

  /** Requests refused because no connection came free in time. */
  get exhaustedTotal() {
    return this.slots.refusedTotal;
  }

  /** Requests that queued for a connection, and the seconds they queued in all (granted or refused). */
  get waitsTotal() {
    return this.slots.waitsTotal;
  }

  get waitSecondsTotal() {
    return this.slots.waitSecondsTotal;
  }

  /** Runs `work` holding one connection slot; `work` may run several statements or a transaction. */
  async run<T>(work: (sql: SQL) => Promise<T>): Promise<T> {
    await this.slots.acquire();
    const started = performance.now();
    let ok = false;
    try {
      const result = await work(this.sql);
      ok = true;
      return result;
    } catch (error) {
      throw asUnavailable(error);
    } finally {
      this.onQuery?.((performance.now() - started) / 1000, ok);
      this.slots.release();
    }
  }

  /** One parameterised query through the bounded pool: db.query`SELECT … WHERE id = ${id}`. */
  query = <Row = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<Row[]> =>
    this.run((sql) => sql(strings, ...values) as Promise<Row[]>);

  /**
   * `query` with a statement timeout of its own: after `timeoutMs` PostgreSQL cancels the statement
   * (SQLSTATE 57014, `isStatementTimeout`). SET LOCAL in a transaction, so the setting ends with it,
   * behind PgBouncer's transaction mode too.
   */
  queryWithin =
    (timeoutMs: number) =>
    <Row = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<Row[]> =>
      this.transaction(async (tx) => {
        await tx`SELECT set_config('statement_timeout', ${String(timeoutMs)}, true)`;
        return (await tx(strings, ...values)) as Row[];
      });

  /** A transaction on one connection, holding one slot for its whole length. */
  transaction<T>(work: (tx: SQL) => Promise<T>): Promise<T> {
    return this.run((sql) => sql.begin((tx) => work(tx as unknown as SQL)) as Promise<T>);
  }

  /** True when the database answers within `timeoutMs`; bypasses the slot queue so a busy pool is not "down". */
  async ping(timeoutMs = 1000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.sql`SELECT 1`.then(() => true), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(timeoutSeconds = 5) {
    await this.sql.close({ timeout: timeoutSeconds });
  }
}

const UNAVAILABLE_CODES = new Set([
  "ERR_POSTGRES_CONNECTION_REFUSED",
  "ERR_POSTGRES_CONNECTION_CLOSED",
  "ERR_POSTGRES_CONNECTION_TIMEOUT",
  "ERR_POSTGRES_IDLE_TIMEOUT",
  "ERR_POSTGRES_LIFETIME_TIMEOUT",
]);
/** SQLSTATEs of a server that is shutting down or not accepting connections yet. */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "08000", "08003", "08006"]);

/** A database that is down becomes a clear 503; every other error passes through unchanged. */
export function asUnavailable(error: unknown): unknown {
  if (!(error instanceof SQL.PostgresError)) return error;
  if (UNAVAILABLE_CODES.has(error.code) || UNAVAILABLE_SQLSTATES.has(String(error.errno))) {
    return serviceUnavailable("Database unavailable, try again shortly", 2);
  }
  return error;
}

/** True for a statement PostgreSQL cancelled, as its statement_timeout does (`Db.queryWithin`). */
export const isStatementTimeout = (error: unknown) => error instanceof SQL.PostgresError && error.errno === "57014";

/** SQLSTATEs of text PostgreSQL cannot store, such as a NUL character: bad input, not a bug. */
const INVALID_TEXT_SQLSTATES = new Set(["22021", "22P05"]);

/** Text the database refuses becomes a 422; every other error passes through unchanged. */
export function asInvalidInput(error: unknown): unknown {
  if (error instanceof SQL.PostgresError && INVALID_TEXT_SQLSTATES.has(String(error.errno))) {
    return unprocessable("text", "must not contain NUL (\\u0000) or other characters the database cannot store");
  }
  return error;
}

/** True for a PostgreSQL unique-constraint violation, optionally of one named constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  return (
    error instanceof SQL.PostgresError &&
    error.errno === "23505" &&
    (constraint === undefined || error.constraint === constraint)
  );
}

const MIGRATION_LOCK_KEY = 727_001;
const MIGRATION_FILE = /^\d{3,}_[\w-]+\.sql$/;

/**
 * Applies the numbered `*.sql` files of `dir` that are not yet recorded in schema_migrations, in
 * order, each once. An advisory lock serialises processes that start at the same moment.
 */
export async function migrate(sql: SQL, dir: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
    const rows: { version: string }[] = await tx`SELECT version FROM schema_migrations`;
    const applied = new Set(rows.map((r) => r.version));
    const pending = files.filter((f) => !applied.has(f));
    for (const file of pending) {
      await tx.unsafe(await Bun.file(join(dir, file)).text());
      await tx`INSERT INTO schema_migrations (version) VALUES (${file})`;
    }
    return pending;
  });
}
