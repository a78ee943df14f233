import { Db, type DbOptions, Slots } from "@lab/shared";
import { NoCache } from "@lab/shared/cache";
import type { SQL } from "bun";
import { CourseService } from "../../../services/course/src/courses/service";

/** Executions before the one explained: PostgreSQL's plan cache weighs a generic plan after the 5th. */
export const PREPARED_EXECUTIONS = 6;
const STATEMENT = "lab_search";

export const PREPARED_LABEL = `-- prepared statement (as the service runs with DB_VIA_PGBOUNCER=0): plan after ${PREPARED_EXECUTIONS} executions`;
export const UNPREPARED_LABEL = "-- unprepared (DB_VIA_PGBOUNCER=1)";

type Normalize = (strings: unknown, values: unknown) => [string, unknown[]];

/**
 * The SQL text (`$1`…`$n`) and flat parameter list bun:sql sends for a query, fragments such as
 * sql`AND …` included, from bun:sql's own builder: bun has no public API for it, so this reads the
 * query's internal fields and fails loudly if a Bun upgrade renames them. The text is checked
 * against the statement the server prepared before it is used.
 */
function boundQuery(query: object): { text: string; params: unknown[] } {
  const field = (name: string) => {
    const symbol = Object.getOwnPropertySymbols(query).find((s) => s.description === name);
    return symbol === undefined ? undefined : (query as Record<symbol, unknown>)[symbol];
  };
  const adapter = field("adapter") as { normalizeQuery?: Normalize } | undefined;
  const strings = field("strings");
  if (typeof adapter?.normalizeQuery !== "function" || !Array.isArray(strings)) {
    throw new Error(`explain: cannot read the SQL text bun:sql builds (internals changed in Bun ${Bun.version})`);
  }
  const [text, params] = adapter.normalizeQuery.call(adapter, strings, field("values"));
  return { text, params };
}

/** A parameter as an SQL literal for EXECUTE: a quoted string the statement's declared type parses, as a bound text value would be. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") text = String(value);
  else if (value instanceof Date) text = value.toISOString();
  else throw new Error(`explain: cannot inline a ${typeof value} parameter into EXECUTE`);
  return `E'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

type PlanCounts = { generic_plans: string; custom_plans: string };

/**
 * The plan of a query as a named prepared statement after PREPARED_EXECUTIONS runs, as the service's
 * pool (bun:sql `prepare: true`) runs it: the query goes to the server once through bun:sql itself,
 * so the statement text and the parameter types the server resolved for it are bun's own; then
 * PREPARE with those types, EXECUTE it PREPARED_EXECUTIONS times, EXPLAIN (ANALYZE, BUFFERS) EXECUTE, DEALLOCATE.
 */
async function explainPrepared(sql: SQL, strings: TemplateStringsArray, values: unknown[]): Promise<string> {
  const connection = await sql.reserve();
  try {
    const query = connection(strings, ...values);
    const { text, params } = boundQuery(query);
    await query;
    const [statement] = await connection<{ types: string[] }[]>`
      SELECT parameter_types::text[] AS types FROM pg_prepared_statements
      WHERE NOT from_sql AND statement = ${text} LIMIT 1`;
    if (!statement) throw new Error(`explain: bun:sql did not prepare the statement it was expected to: ${text}`);
    if (statement.types.length !== params.length) {
      throw new Error(`explain: ${statement.types.length} parameter types for ${params.length} parameters in: ${text}`);
    }
    const run = (command: string) => connection.unsafe(command).simple();
    const counts = async () => {
      const [row] = await connection<PlanCounts[]>`
        SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = ${STATEMENT}`;
      return { generic: Number(row?.generic_plans), custom: Number(row?.custom_plans) };
    };
    const types = statement.types.length ? `(${statement.types.join(", ")})` : "";
    const execute = `EXECUTE ${STATEMENT}${params.length ? `(${params.map(literal).join(", ")})` : ""}`;
    await run(`PREPARE ${STATEMENT}${types} AS ${text}`);
    try {
      for (let i = 0; i < PREPARED_EXECUTIONS; i++) await run(execute);
      const before = await counts();
      const rows: { "QUERY PLAN": string }[] = await run(`EXPLAIN (ANALYZE, BUFFERS) ${execute}`);
      const after = await counts();
      const kind = after.generic > before.generic ? "generic plan" : "custom plan";
      return [
        `-- plan cache: ${kind} (${after.custom} custom, ${after.generic} generic plans so far)`,
        ...rows.map((row) => row["QUERY PLAN"]),
      ].join("\n");
    } finally {
      await run(`DEALLOCATE ${STATEMENT}`);
    }
  } finally {
    connection.release();
  }
}

/** EXPLAIN (ANALYZE, BUFFERS) of the query with its parameters bound as one unnamed statement, as `prepare: false` runs it. */
async function explainUnprepared(sql: SQL, strings: TemplateStringsArray, values: unknown[]): Promise<string> {
  const explained = [`EXPLAIN (ANALYZE, BUFFERS) ${strings[0]}`, ...strings.slice(1)];
  // bun:sql takes only template objects: frozen, with a non-enumerable `raw`.
  Object.defineProperty(explained, "raw", { value: explained });
  const rows: { "QUERY PLAN": string }[] = await sql(
    Object.freeze(explained) as unknown as TemplateStringsArray,
    ...values,
  );
  return rows.map((row) => row["QUERY PLAN"]).join("\n");
}

/**
 * A Db that EXPLAINs (ANALYZE, BUFFERS) each query instead of returning its rows, so a plan is taken
 * of exactly the SQL the service's own code builds, not of a copy that could drift from it; `prepared`
 * matches the service's pool mode (prepared statements unless DB_VIA_PGBOUNCER=1).
 */
class ExplainingDb extends Db {
  readonly plans: string[] = [];

  constructor(options: DbOptions & { prepare: boolean }) {
    super(options);
    const explain = options.prepare ? explainPrepared : explainUnprepared;
    this.query = <Row>(strings: TemplateStringsArray, ...values: unknown[]) =>
      this.run(async (sql) => {
        this.plans.push(await explain(sql, strings, values));
        return [] as Row[];
      });
    // a search's statement timeout would only cut the plan short
    this.queryWithin = () => this.query;
  }
}

export const SEARCH_PAGE = 20;
const SEARCH_PLAN_TIMEOUT_MS = 60_000;

/** A database URL for an error message, without its password. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "an invalid URL";
  }
}

/** An ExplainingDb whose database answers, or an error that says which database did not. */
async function connect(url: string, prepared: boolean): Promise<ExplainingDb> {
  let db: ExplainingDb | undefined;
  try {
    db = new ExplainingDb({ url, max: 1, acquireTimeoutMs: 60_000, prepare: prepared });
    // straight to bun:sql, not through Db.run, which would turn a refused connection into a bare 503
    await db.sql`SELECT 1`;
    return db;
  } catch (error) {
    await db?.close().catch(() => {});
    throw new Error(
      `explainSearch: cannot reach the course database at ${redacted(url)}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/**
 * The plans of the catalog search (`GET /courses?q=…`, first page) for each term, as text. `prepared`
 * is the service's mode: true as it runs by default (DB_VIA_PGBOUNCER=0, a prepared statement the
 * plan cache may switch to a generic plan), false behind PgBouncer (DB_VIA_PGBOUNCER=1).
 */
export async function explainSearch(
  courseDatabaseUrl: string,
  terms: Record<string, string>,
  { prepared }: { prepared: boolean },
): Promise<string> {
  const db = await connect(courseDatabaseUrl, prepared);
  // one term after the other: the one search slot is always free
  const courses = new CourseService(db, new NoCache(), {
    timeoutMs: SEARCH_PLAN_TIMEOUT_MS,
    slots: new Slots(1, SEARCH_PLAN_TIMEOUT_MS, () => new Error("explainSearch: searches overlapped")),
  });
  const sections: string[] = [prepared ? PREPARED_LABEL : UNPREPARED_LABEL];
  try {
    for (const [label, term] of Object.entries(terms)) {
      await courses.list({ q: term, limit: SEARCH_PAGE, offset: 0 });
      sections.push(
        `-- ${label} term: GET /courses?q=${encodeURIComponent(term)}&limit=${SEARCH_PAGE}\n${db.plans.at(-1) ?? ""}`,
      );
    }
  } finally {
    await db.close();
  }
  return `${sections.join("\n\n")}\n`;
}
