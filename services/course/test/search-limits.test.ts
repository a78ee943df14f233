import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { parseEnv } from "@lab/shared";
import { SQL } from "bun";
import { type Harness, serviceHarness, type TestResponse, waitUntil } from "../../../test/support";
import { courseApp } from "../src/app";
import { searchLimits } from "../src/courses/service";

// real PostgreSQL on a shared 2-core machine
setDefaultTimeout(30_000);

/**
 * A search's cost is bounded: too short a term is refused, a search runs within SEARCH_TIMEOUT_MS,
 * and no more than SEARCH_MAX_CONCURRENT run at once, so the pool keeps connections for browsing.
 * A search is made slow deterministically: another session holds an exclusive lock on the table.
 */
const migrations = join(import.meta.dir, "../migrations");
let timed: Harness;
let capped: Harness;
beforeAll(async () => {
  [timed, capped] = await Promise.all([
    serviceHarness("course", migrations, courseApp, { SEARCH_TIMEOUT_MS: "300" }),
    serviceHarness("course", migrations, courseApp, {
      DB_POOL_MAX: "4",
      SEARCH_MAX_CONCURRENT: "1",
      DB_ACQUIRE_TIMEOUT_MS: "200",
      SEARCH_TIMEOUT_MS: "60000",
    }),
  ]);
});
afterAll(() => Promise.all([timed.close(), capped.close()]));

/** Holds ACCESS EXCLUSIVE on the harness's courses table until the returned function is called. */
async function lockCourses(harness: Harness) {
  const sql = new SQL({ url: harness.url, max: 1 });
  const session = await sql.reserve();
  await session`BEGIN`;
  await session`LOCK TABLE courses IN ACCESS EXCLUSIVE MODE`;
  return async () => {
    await session`ROLLBACK`;
    session.release();
    await sql.close();
  };
}

describe("search limits", () => {
  test("a term of fewer than 3 characters once trimmed is a 422 naming q; a blank one lists every course", async () => {
    for (const q of ["x", "zq", "%%", " ab ", "é"]) {
      const response = await timed.request("GET", `/courses?q=${encodeURIComponent(q)}`);
      expect(response.status).toBe(422);
      expect(response.body.fields).toEqual([{ field: "q", message: "a search needs at least 3 characters" }]);
    }
    for (const q of ["", "   ", "sql", "%%%"]) {
      expect((await timed.request("GET", `/courses?q=${encodeURIComponent(q)}`)).status).toBe(200);
    }
    // a search in its own transaction still turns text the database refuses into a 422
    const nul = await timed.request("GET", "/courses?q=ab%00c");
    expect(nul.status).toBe(422);
    expect(nul.body.message).toContain("NUL");
  });

  test("a search that outlasts SEARCH_TIMEOUT_MS is stopped and answered 503, and the next one runs", async () => {
    const unlock = await lockCourses(timed);
    try {
      const response = await timed.request("GET", "/courses?q=python");
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("1");
      expect(response.body.message).toContain("The search took longer than 300 ms and was stopped");
    } finally {
      await unlock();
    }
    expect((await timed.request("GET", "/courses?q=python")).status).toBe(200);
  });

  test("searches beyond SEARCH_MAX_CONCURRENT wait, then 503, and never take the pool's other connections", async () => {
    const unlock = await lockCourses(capped);
    const answered: TestResponse[] = [];
    let searches: Promise<TestResponse>[] = [];
    try {
      searches = ["python", "design", "cooking", "spanish"].map((q) =>
        capped.request("GET", `/courses?q=${q}`).then((response) => {
          answered.push(response);
          return response;
        }),
      );
      await waitUntil(async () => answered.length === 3, {
        timeoutMs: 10_000,
        intervalMs: 20,
        failure: "three of four searches should be refused while the first holds the only search slot",
      });
      for (const response of answered) {
        expect(response.status).toBe(503);
        expect(response.body.message).toContain("Search busy: 1 searches stayed under way for 200 ms");
      }
      // the held search has one connection; the other three are free for browsing
      expect(capped.db.inUse).toBe(1);
      expect(await capped.db.query`SELECT 1 AS ok`).toEqual([{ ok: 1 }]);
    } finally {
      await unlock();
    }
    const statuses = (await Promise.all(searches)).map((response) => response.status).sort();
    expect(statuses).toEqual([200, 503, 503, 503]);
  });

  test("unset, SEARCH_MAX_CONCURRENT is half of DB_POOL_MAX, rounded up", () => {
    expect(searchLimits(parseEnv({ DB_POOL_MAX: "5" }, 8002)).slots.max).toBe(3);
    expect(searchLimits(parseEnv({ DB_POOL_MAX: "20" }, 8002)).slots.max).toBe(10);
    expect(searchLimits(parseEnv({ DB_POOL_MAX: "20", SEARCH_MAX_CONCURRENT: "2" }, 8002)).slots.max).toBe(2);
  });
});
