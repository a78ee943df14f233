import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { migrate } from "@lab/shared";
import { SQL } from "bun";
import { explainSearch, PREPARED_LABEL, UNPREPARED_LABEL } from "../../scripts/experiments/run/explain";
import { freshDatabase, waitUntil } from "../support";

const ROWS = 400;
const RARE = "quaternion";
const TERMS = { common: "databases", rare: RARE };
// the search's filter as PostgreSQL prints it, with the pattern a literal (custom plan) or `$1`/`$2` (generic plan)
const FILTER =
  /Filter: \(\(title ~~\* (\$1|'%(databases|quaternion)%'::text)\) OR \(description ~~\* (\$2|'%(databases|quaternion)%'::text)\)\)/;

let url: string;
beforeAll(async () => {
  url = await freshDatabase("explain");
  const sql = new SQL({ url, max: 1 });
  try {
    await migrate(sql, join(import.meta.dir, "../../services/course/migrations"));
    await sql`
      INSERT INTO courses (title, description, level, price_cents, duration_hours, teacher_id, teacher_name)
      SELECT
        (ARRAY['Intro to', 'Advanced', 'Practical'])[1 + i % 3] || ' ' ||
        (ARRAY['Databases', 'Networks', 'Compilers', 'Design'])[1 + i % 4] ||
        CASE WHEN i % 100 = 0 THEN ${` ${RARE}s`} ELSE ' ' || i END,
        'Lectures, exercises and a project, part ' || i,
        (ARRAY['beginner', 'intermediate', 'advanced'])[1 + i % 3]::course_level,
        (i % 7) * 1000, 1 + i % 40, 1 + i % 50, 'Teacher ' || (i % 50)
      FROM generate_series(1, ${ROWS}) AS i`;
    await sql`ANALYZE courses`;
  } finally {
    await sql.close();
  }
});

/** The sections of an explainSearch output: the mode's label, then one per term. */
const sections = (text: string) => text.trimEnd().split("\n\n");

/** Other sessions on the test database: an explain must not leave its connection behind. */
async function otherSessions() {
  const sql = new SQL({ url, max: 1 });
  try {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    return row?.n ?? 0;
  } finally {
    await sql.close();
  }
}

/** The common and the rare term's sections under `label`, each a plan with the search's filter, buffers and timing. */
function termSections(text: string, label: string): [string, string] {
  const [first, common = "", rare = ""] = sections(text);
  expect(first).toBe(label);
  expect(common).toStartWith("-- common term: GET /courses?q=databases&limit=20\n");
  expect(rare).toStartWith(`-- rare term: GET /courses?q=${RARE}&limit=20\n`);
  for (const section of [common, rare]) {
    expect(section).toMatch(FILTER);
    expect(section).toContain("Buffers:");
    expect(section).toContain("Execution Time:");
  }
  return [common, rare];
}

describe("explainSearch", () => {
  test("unprepared (DB_VIA_PGBOUNCER=1): the search's plan with the pattern inlined, for each term", async () => {
    const text = await explainSearch(url, TERMS, { prepared: false });
    const [, rare] = termSections(text, UNPREPARED_LABEL);
    expect(rare).toContain(`'%${RARE}%'::text`);
    expect(text).not.toContain("plan cache");
  });

  test("prepared (DB_VIA_PGBOUNCER=0): the plan of a named statement after 6 executions, as the service's plan cache has it", async () => {
    const text = await explainSearch(url, TERMS, { prepared: true });
    expect(PREPARED_LABEL).toBe(
      "-- prepared statement (as the service runs with DB_VIA_PGBOUNCER=0): plan after 6 executions",
    );
    for (const section of termSections(text, PREPARED_LABEL)) {
      // 6 executions and the explained one: the plan cache tried 5 custom plans, then went generic or stayed custom
      const kind = section.match(/-- plan cache: (generic|custom) plan \((\d+) custom, (\d+) generic plans so far\)/);
      expect(kind).not.toBeNull();
      const [, which, custom, generic] = kind as RegExpMatchArray;
      expect(Number(custom) + Number(generic)).toBe(7);
      expect(Number(custom)).toBeGreaterThanOrEqual(5);
      // a generic plan knows no parameter values: the filter shows the parameters themselves
      if (which === "generic") expect(section).toContain("title ~~* $1");
      else expect(section).not.toContain("$1");
    }
  });

  test("prepared: repeated runs agree, and each closes its connection", async () => {
    const first = await explainSearch(url, { rare: RARE }, { prepared: true });
    const second = await explainSearch(url, { rare: RARE }, { prepared: true });
    const kind = (text: string) => text.match(/-- plan cache: (\w+) plan/)?.[1];
    expect(kind(first)).toBeDefined();
    expect(kind(second)).toBe(kind(first) as string);
    await waitUntil(async () => (await otherSessions()) === 0, {
      timeoutMs: 5000,
      intervalMs: 50,
      failure: "explainSearch left a connection open",
    });
  });

  test("a bad URL fails with an error that names the database, without its password", async () => {
    const refused = "postgres://postgres:secret@127.0.0.1:1/course";
    const error = await explainSearch(refused, TERMS, { prepared: true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toStartWith(
      "explainSearch: cannot reach the course database at postgres://postgres:***@127.0.0.1:1/course: ",
    );
    expect((error as Error).message).not.toContain("secret");

    const missing = url.replace(/\/[^/]+$/, "/no_such_database");
    await expect(explainSearch(missing, TERMS, { prepared: false })).rejects.toThrow(
      /cannot reach the course database at .*no_such_database.*does not exist/,
    );

    await expect(explainSearch("not a url", TERMS, { prepared: true })).rejects.toThrow(
      "explainSearch: cannot reach the course database at an invalid URL: ",
    );
  });
});
