import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Db } from "@lab/shared";
import { courseApp } from "../../services/course/src/app";
import { containsPattern } from "../../services/course/src/courses/service";
import { matchSearchIndex } from "../../services/course/src/search-index";
import { type Harness, serviceHarness } from "../support";

// Enough pages that an index pays off for the planner (at 5,000 rows it rightly prefers to scan); no planner nudges.
const ROWS = 20_000;
const RARE = "quaternion";

let api: Harness;
beforeAll(async () => {
  api = await serviceHarness("course", join(import.meta.dir, "../../services/course/migrations"), courseApp);
  // A catalogue big enough for the planner to care: words repeat, one rare word in a handful of titles.
  await api.db.query`
    INSERT INTO courses (title, description, level, price_cents, duration_hours, teacher_id, teacher_name)
    SELECT
      (ARRAY['Intro to', 'Advanced', 'Practical', 'Modern'])[1 + i % 4] || ' ' ||
      (ARRAY['Databases', 'Networks', 'Compilers', 'Statistics', 'Design'])[1 + i % 5] ||
      CASE WHEN i % 1000 = 0 THEN ${` ${RARE}s`} ELSE ' ' || i END,
      'Lectures, exercises and a project, part ' || i,
      (ARRAY['beginner', 'intermediate', 'advanced'])[1 + i % 3]::course_level,
      (i % 7) * 1000, 1 + i % 40, 1 + i % 50, 'Teacher ' || (i % 50)
    FROM generate_series(1, ${ROWS}) AS i`;
  await api.db.query`ANALYZE courses`;
});
afterAll(() => api.close());

const indexes = async () =>
  (
    await api.db.query<{ indexname: string }>`
      SELECT indexname FROM pg_indexes WHERE tablename = 'courses' AND indexname LIKE '%trgm%' ORDER BY indexname`
  ).map((row) => row.indexname);

/** The plan of the catalogue's search query (the shape CourseService.list runs) for a term. */
async function plan(term: string) {
  const pattern = containsPattern(term);
  const rows = await api.db.query<{ "QUERY PLAN": string }>`
    EXPLAIN SELECT id, title, description, level, price_cents, duration_hours, teacher_id, teacher_name, created_at
    FROM courses WHERE true AND (title ILIKE ${pattern} OR description ILIKE ${pattern})
    ORDER BY created_at DESC, id DESC LIMIT 21`;
  return rows.map((row) => row["QUERY PLAN"]).join("\n");
}

async function titleIndexScans() {
  const [row] = await api.db.query<{ idx_scan: string }>`
    SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'courses_title_trgm_idx'`;
  return Number(row?.idx_scan ?? 0);
}

describe("SEARCH_INDEX flag", () => {
  test("none: no trigram index, the search scans the table", async () => {
    await matchSearchIndex(api.db, "none");
    expect(await indexes()).toEqual([]);
    const explained = await plan(RARE);
    // Every row is read and filtered: in table order, or newest first along the catalogue's order index.
    expect(explained).toMatch(/Seq Scan on courses|Index Scan using courses_created_at_idx/);
    expect(explained).toContain("Filter: ((title ~~* '%quaternion%'::text) OR (description ~~* '%quaternion%'::text))");
    expect(explained).not.toContain("trgm");
  });

  test("trgm: GIN trigram indexes on title and description, and the search uses them", async () => {
    await matchSearchIndex(api.db, "trgm");
    expect(await indexes()).toEqual(["courses_description_trgm_idx", "courses_title_trgm_idx"]);
    await api.db.query`ANALYZE courses`;
    const explained = await plan(RARE);
    expect(explained).toContain("Bitmap Index Scan on courses_title_trgm_idx");
    expect(explained).toContain("Bitmap Index Scan on courses_description_trgm_idx");
    expect(explained).not.toContain("Seq Scan");
  });

  test("trgm: the service's own search query reaches the index and finds the same courses", async () => {
    await matchSearchIndex(api.db, "trgm");
    const before = await titleIndexScans();
    // past PGSTAT_MIN_INTERVAL since that backend's last flush, so it flushes the search's as it ends
    await Bun.sleep(1_100);
    const response = await api.request("GET", `/courses?q=${RARE.toUpperCase()}&limit=50`);
    expect(response.status).toBe(200);
    expect(response.body.items).toHaveLength(ROWS / 1000);
    // Index statistics reach pg_stat_user_indexes when the serving backend flushes them: at once when
    // its last flush is a second old, else within PostgreSQL's PGSTAT_IDLE_INTERVAL (10 s). The search
    // runs in a transaction of its own, often on the connection that has just matched the indexes.
    let after = before;
    for (let i = 0; i < 120 && after === before; i++) {
      await Bun.sleep(100);
      after = await titleIndexScans();
    }
    expect(after).toBeGreaterThan(before);
  }, 20_000);

  test("switching back to none drops the indexes again", async () => {
    await matchSearchIndex(api.db, "trgm");
    await matchSearchIndex(api.db, "none");
    expect(await indexes()).toEqual([]);
    expect(await plan(RARE)).not.toContain("trgm");
  });
});

describe("replicas starting at once", () => {
  test("each matches the index from its own pool: none fails, the indexes exist once", async () => {
    await matchSearchIndex(api.db, "none");
    const replicas = Array.from({ length: 4 }, () => new Db({ url: api.url, max: 1, acquireTimeoutMs: 30_000 }));
    try {
      await Promise.all(replicas.map((db) => matchSearchIndex(db, "trgm")));
      expect(await indexes()).toEqual(["courses_description_trgm_idx", "courses_title_trgm_idx"]);
      await Promise.all(replicas.map((db) => matchSearchIndex(db, "none")));
      expect(await indexes()).toEqual([]);
    } finally {
      await Promise.all(replicas.map((db) => db.close()));
    }
  });
});
