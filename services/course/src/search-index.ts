import type { Db } from "@lab/shared";
import { log } from "@lab/shared";

const TRGM_INDEXES = {
  courses_title_trgm_idx: "title",
  courses_description_trgm_idx: "description",
} as const;

/** Held while one process matches the indexes: replicas starting at once would race on the catalog. */
const SEARCH_INDEX_LOCK_KEY = 727_002;

/**
 * SEARCH_INDEX=trgm creates pg_trgm GIN indexes on what the search filters; `none` drops them,
 * so a run of the baseline after an improved run really scans again. Replicas starting at once
 * take turns (two CREATE INDEX IF NOT EXISTS of one name at once fail with a duplicate key).
 */
export async function matchSearchIndex(db: Db, mode: "none" | "trgm") {
  await db.transaction(async (sql) => {
    await sql`SELECT pg_advisory_xact_lock(${SEARCH_INDEX_LOCK_KEY})`;
    for (const [name, column] of Object.entries(TRGM_INDEXES)) {
      if (mode === "trgm") {
        await sql.unsafe(`CREATE INDEX IF NOT EXISTS ${name} ON courses USING gin (${column} gin_trgm_ops)`);
      } else {
        await sql.unsafe(`DROP INDEX IF EXISTS ${name}`);
      }
    }
  });
  log("info", "search index matched to flag", { SEARCH_INDEX: mode });
}
