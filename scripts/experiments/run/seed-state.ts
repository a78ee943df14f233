import { join } from "node:path";
import { SERVICE_NAMES, SERVICES, type ServiceName } from "@lab/shared";
import { SQL } from "bun";
import { containsPattern } from "../../../services/course/src/courses/service";
import { seedDatabases } from "../../seed/load";
import { DEFAULT_SEED, type SeedSizes } from "../../seed/sizes";
import { type PinnedStatistics, restorePlannerStatistics, statisticsId } from "../../seed/statistics";
import { SEARCH_TERMS } from "../../seed/vocabulary";
import type { SeedStart } from "../results/format";
import { driftedTerms } from "../results/runs";

/**
 * Every run starts from the same data. The first run seeds the experiments' databases and copies each
 * into a template (`<database>_seed`); every run after that drops the databases the last run wrote to
 * and creates them again from the templates (`CREATE DATABASE … TEMPLATE`, a file copy: seconds, not
 * the minute a reseed takes). Courses the load created, enrollments and payments are gone, the planner
 * statistics are the seed's, and the search words match what they matched right after seeding.
 *
 * The planner statistics of the full seed are pinned: seed-statistics.json holds those every committed
 * run planned with, and a new seed gets them instead of its own random ANALYZE sample (see
 * scripts/seed/statistics.ts for why). Templates made before a snapshot changed get it restored.
 */
export const TEMPLATE_SUFFIX = "_seed";
export const PINNED_STATISTICS_FILE = join(import.meta.dir, "seed-statistics.json");
/** What seed-state.json records when no snapshot fits the seed: ANALYZE's own sample. */
export const SAMPLED_STATISTICS = "sampled";

/** The committed snapshot when it was taken from this seed and these sizes, otherwise null. */
export async function pinnedStatisticsFor(sizes: SeedSizes, file = PINNED_STATISTICS_FILE) {
  const pinned = (await Bun.file(file).json()) as PinnedStatistics;
  return pinned.seed === DEFAULT_SEED && sameSizes(pinned.sizes, sizes) ? pinned : null;
}

/** What the templates hold, kept beside the data directory (seed-state.json). */
export type SeedState = {
  seed: number;
  sizes: SeedSizes;
  rows: Record<keyof SeedSizes, number>;
  /** Courses each search word of the load matches (title or description, as the service's ILIKE). */
  search_terms: Record<string, number>;
  /** The pinned snapshot's id the templates hold, or "sampled" (absent: made before statistics were pinned). */
  statistics?: string;
};

export class SeedDriftError extends Error {}

const SEED_COUNTS: Record<keyof SeedSizes, [ServiceName, string]> = {
  users: ["identity", "users"],
  courses: ["course", "courses"],
  enrollments: ["enrollment", "enrollments"],
  payments: ["payment", "payments"],
};

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

export async function countRows(urls: Record<ServiceName, string>): Promise<Record<keyof SeedSizes, number>> {
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

/** Courses each of the load's search words matches, with the service's own predicate. */
export async function searchTermCounts(courseUrl: string): Promise<Record<string, number>> {
  const sql = new SQL({ url: courseUrl, max: 1 });
  try {
    const counts: Record<string, number> = {};
    for (const term of [...SEARCH_TERMS.common, ...SEARCH_TERMS.rare]) {
      const pattern = containsPattern(term);
      const [row] =
        await sql`SELECT count(*)::int AS n FROM courses WHERE title ILIKE ${pattern} OR description ILIKE ${pattern}`;
      counts[term] = row.n;
    }
    return counts;
  } finally {
    await sql.close();
  }
}

const sameSizes = (a: SeedSizes, b: SeedSizes) =>
  (Object.keys(a) as (keyof SeedSizes)[]).every((key) => a[key] === b[key]);

/** Each service database's URL turned into its template's, on the same server. */
export const templateUrlsOf = (urls: Record<ServiceName, string>) =>
  Object.fromEntries(
    SERVICE_NAMES.map((name) => {
      const url = new URL(urls[name]);
      url.pathname = `/${SERVICES[name].database}${TEMPLATE_SUFFIX}`;
      return [name, url.toString()];
    }),
  ) as Record<ServiceName, string>;

async function existingDatabases(sql: SQL): Promise<Set<string>> {
  return new Set((await sql`SELECT datname FROM pg_database`).map((row: { datname: string }) => row.datname));
}

/**
 * Puts the seeded state in place before the services start (nothing may be connected): from the
 * templates when they hold `sizes`, otherwise by seeding afresh and making the templates. Fails with
 * SeedDriftError when the copy's search-word counts are not the seed's.
 */
export async function resetToSeed(options: {
  adminUrl: string;
  urls: Record<ServiceName, string>;
  sizes: SeedSizes;
  stateFile: string;
  /** The statistics to pin (default: the committed snapshot, when it fits `sizes`). */
  pinned?: PinnedStatistics | null;
  say?: (line: string) => void;
}): Promise<SeedStart> {
  const say = options.say ?? (() => {});
  const pinned = options.pinned !== undefined ? options.pinned : await pinnedStatisticsFor(options.sizes);
  const statistics = pinned ? statisticsId(pinned.tables) : SAMPLED_STATISTICS;
  const started = performance.now();
  const databases = SERVICE_NAMES.map((name) => SERVICES[name].database);
  const stateFile = Bun.file(options.stateFile);
  let state = (await stateFile.exists()) ? ((await stateFile.json()) as SeedState) : null;
  const admin = new SQL({ url: options.adminUrl, max: 1 });
  let source: SeedStart["source"] = "cloned";
  try {
    const existing = await existingDatabases(admin);
    const templated = databases.every((name) => existing.has(`${name}${TEMPLATE_SUFFIX}`));
    if (state && templated && state.seed === DEFAULT_SEED && sameSizes(state.sizes, options.sizes)) {
      if (pinned && state.statistics !== statistics) {
        await restorePlannerStatistics(templateUrlsOf(options.urls), pinned.tables);
        state = { ...state, statistics };
        await Bun.write(options.stateFile, `${JSON.stringify(state, null, 2)}\n`);
        say(`the seed templates now hold the pinned planner statistics ${statistics}`);
      }
      for (const name of databases) {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`);
        await admin.unsafe(
          `CREATE DATABASE ${quoted(name)} TEMPLATE ${quoted(`${name}${TEMPLATE_SUFFIX}`)} STRATEGY FILE_COPY`,
        );
      }
      say(`data reset from the seed templates in ${Math.round(performance.now() - started)} ms`);
    } else {
      source = "created";
      say(`seeding ${JSON.stringify(options.sizes)} and keeping it as the runs' template`);
      for (const name of databases) {
        if (!existing.has(name)) await admin.unsafe(`CREATE DATABASE ${quoted(name)}`);
      }
      // the runner's own embedded server on local ports, under production settings: Locust signs in
      // with LAB_PASSWORD, so the known passwords are asked for, not inferred from NODE_ENV
      await seedDatabases({
        urls: options.urls,
        sizes: options.sizes,
        seed: DEFAULT_SEED,
        reset: true,
        say,
        knownPasswords: true,
      });
      if (pinned) await restorePlannerStatistics(options.urls, pinned.tables);
      say(pinned ? `planner statistics pinned to ${statistics}` : "planner statistics from ANALYZE's sample");
      state = {
        seed: DEFAULT_SEED,
        sizes: options.sizes,
        rows: await countRows(options.urls),
        search_terms: await searchTermCounts(options.urls.course),
        statistics,
      };
      for (const name of databases) {
        const template = quoted(`${name}${TEMPLATE_SUFFIX}`);
        await admin.unsafe(`DROP DATABASE IF EXISTS ${template}`);
        await admin.unsafe(`CREATE DATABASE ${template} TEMPLATE ${quoted(name)} STRATEGY FILE_COPY`);
      }
      await Bun.write(options.stateFile, `${JSON.stringify(state, null, 2)}\n`);
    }
  } finally {
    await admin.close();
  }
  const search_terms = await searchTermCounts(options.urls.course);
  const start: SeedStart = {
    source,
    rows: await countRows(options.urls),
    search_terms,
    expected_search_terms: state.search_terms,
    statistics: state.statistics ?? SAMPLED_STATISTICS,
    reset_ms: Math.round(performance.now() - started),
  };
  const drifted = driftedTerms(search_terms, state.search_terms);
  if (drifted.length) {
    throw new SeedDriftError(
      `the run's data is not the seed's: ${drifted.map((term) => `${term} ${search_terms[term]} ≠ ${state.search_terms[term]}`).join(", ")}`,
    );
  }
  return start;
}
