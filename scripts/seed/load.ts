import { join } from "node:path";
import { migrate, SERVICE_NAMES, type ServiceName } from "@lab/shared";
import { SQL } from "bun";
import { ROOT } from "../lib/root";
import { DEMO_ACCOUNTS, hashLabPassword, inProduction, LAB_PASSWORD } from "./accounts";
import { copyInto } from "./copy";
import { type Dataset, generateDataset, type TableLoad, tableLoads } from "./generate";
import { formatCount, formatSeconds, Progress } from "./progress";
import { SeedError, type SeedSizes } from "./sizes";

/** The tables a seed owns in each database: emptied before a load, and what "already holds data" means. */
export const SEED_TABLES: Record<ServiceName, readonly string[]> = {
  identity: ["users"],
  course: ["courses"],
  enrollment: ["enrollments"],
  payment: ["payments"],
  notification: ["notifications"],
};

export const migrationsOf = (name: ServiceName) => join(ROOT, "services", name, "migrations");

export type SeedOptions = {
  urls: Record<ServiceName, string>;
  sizes: SeedSizes;
  seed: number;
  /** Empty the seeded tables even when they hold data (otherwise such a database is refused). */
  reset?: boolean;
  say?: (line: string) => void;
  /** A live progress line on the terminal. */
  live?: boolean;
  /**
   * Seed even with NODE_ENV=production, where every account having the public LAB_PASSWORD is
   * otherwise refused: for a lab's own stack that nobody else reaches (the experiment runner's).
   */
  knownPasswords?: boolean;
};

export type SeedSummary = {
  dataset: Dataset;
  rows: Record<string, number>;
  ms: { generate: number; load: number; analyze: number; total: number };
};

/**
 * Fills the five databases with one dataset: migrations first, then every table through COPY, the
 * databases concurrently, each in one transaction (truncate, copy, advance the id sequence), then
 * ANALYZE so the planner knows the new volume.
 */
export async function seedDatabases(options: SeedOptions): Promise<SeedSummary> {
  refuseKnownPasswords(options.knownPasswords);
  const started = performance.now();
  const say = options.say ?? (() => {});
  const connections = connect(options.urls);
  try {
    await Promise.all(SERVICE_NAMES.map((name) => migrate(connections[name], migrationsOf(name))));
    const held = await heldRows(connections);
    if (held.length > 0 && !options.reset) {
      throw new SeedError(
        `the databases already hold data (${held.join(", ")}). Seeding again would mix two datasets: ` +
          `add --reset to empty ${Object.values(SEED_TABLES).flat().join(", ")} first.`,
      );
    }

    const hashing = hashLabPassword();
    const generateStarted = performance.now();
    const dataset = generateDataset(options.seed, options.sizes);
    const generate = performance.now() - generateStarted;
    say(`generated the dataset in ${formatSeconds(generate)} (seed ${options.seed})`);
    const loads = tableLoads(dataset, hashing);

    const loadStarted = performance.now();
    const progress = new Progress(say, options.live);
    const rows: Record<string, number> = {};
    try {
      await Promise.all(
        SERVICE_NAMES.map(async (name) => {
          const tableLoadsOf = loads.filter((load) => load.service === name);
          Object.assign(rows, await fillDatabase(connections[name], name, tableLoadsOf, progress));
        }),
      );
    } finally {
      progress.stop();
    }
    const load = performance.now() - loadStarted;

    const analyzeStarted = performance.now();
    await Promise.all(loads.map((load) => connections[load.service].unsafe(`ANALYZE ${load.table}`)));
    const analyze = performance.now() - analyzeStarted;
    return { dataset, rows, ms: { generate, load, analyze, total: performance.now() - started } };
  } finally {
    await Promise.all(SERVICE_NAMES.map((name) => connections[name].close()));
  }
}

/** Throws, with NODE_ENV=production and without `knownPasswords`: a seed's accounts all have LAB_PASSWORD. */
export function refuseKnownPasswords(knownPasswords = false) {
  if (!inProduction() || knownPasswords) return;
  throw new SeedError(
    `NODE_ENV=production: every account a seed writes, ${DEMO_ACCOUNTS[0]?.email} among them, has the public ` +
      `password "${LAB_PASSWORD}". Create the first admin with bun run admin:create instead; for a lab's own ` +
      "stack that nobody else reaches, add --known-passwords.",
  );
}

export function connect(urls: Record<ServiceName, string>) {
  return Object.fromEntries(SERVICE_NAMES.map((name) => [name, new SQL({ url: urls[name], max: 2 })])) as Record<
    ServiceName,
    SQL
  >;
}

/** "course.courses: 1,000 rows" for each seeded table with rows; the demo accounts as a seed writes them do not count. */
export async function heldRows(connections: Record<ServiceName, SQL>): Promise<string[]> {
  const held = await Promise.all(
    SERVICE_NAMES.flatMap((name) =>
      SEED_TABLES[name].map(async (table) => {
        const sql = connections[name];
        let [{ rows }] = await sql.unsafe(`SELECT count(*)::int AS rows FROM ${table}`);
        if (table === "users") {
          const demo: { id: number; email: string }[] = await sql`
            SELECT id, email FROM users WHERE email IN ${sql(DEMO_ACCOUNTS.map((account) => account.email))}`;
          rows -= demo.filter((row) => DEMO_ACCOUNTS.some((a) => a.id === row.id && a.email === row.email)).length;
        }
        return rows > 0 ? `${name}.${table}: ${formatCount(rows)} ${rows === 1 ? "row" : "rows"}` : "";
      }),
    ),
  );
  return held.filter(Boolean);
}

async function fillDatabase(sql: SQL, name: ServiceName, loads: TableLoad[], progress: Progress) {
  const rows: Record<string, number> = {};
  await sql.begin(async (tx) => {
    await tx.unsafe(`TRUNCATE ${SEED_TABLES[name].join(", ")} RESTART IDENTITY`);
    for (const load of loads) {
      await load.ready;
      const tracker = progress.table(`${name}.${load.table}`, load.rows);
      const copied = await copyInto(tx, load.table, load.columns, load.chunks(), tracker.add);
      if (copied !== load.rows) throw new Error(`${name}.${load.table}: COPY stored ${copied} rows of ${load.rows}`);
      // the rows carry their ids; the next id the service hands out comes after them
      await tx`SELECT setval(pg_get_serial_sequence(${load.table}, 'id'), ${Math.max(load.rows, 1)}, ${load.rows > 0})`;
      tracker.done();
      rows[`${name}.${load.table}`] = copied;
    }
  });
  return rows;
}
