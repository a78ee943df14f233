import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { SQL } from "bun";
import { courseApp } from "../../services/course/src/app";
import { type Harness, serviceHarness, testDatabaseUrl } from "../support";

const migrations = join(import.meta.dir, "../../services/course/migrations");
const CONCURRENT_REQUESTS = 80;

/** Client backends PostgreSQL runs for one database, counted from a connection to another one. */
async function connectionsTo(probe: SQL, database: string) {
  const [row] = await probe`
    SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${database} AND backend_type = 'client backend'`;
  return (row as { n: number }).n;
}

/** The most connections the service held while answering many concurrent list pages, sampled throughout. */
async function peakConnections(poolMax: number) {
  const api: Harness = await serviceHarness("course", migrations, courseApp, {
    DB_POOL_MAX: String(poolMax),
    DB_ACQUIRE_TIMEOUT_MS: "10000",
  });
  const database = new URL(api.url).pathname.slice(1);
  const probe = new SQL({ url: testDatabaseUrl("postgres"), max: 1 });
  try {
    await api.db.query`
      INSERT INTO courses (title, description, level, price_cents, duration_hours, teacher_id, teacher_name)
      SELECT 'Course ' || i, 'Description ' || i, 'beginner', 0, 1, 1, 'T' FROM generate_series(1, 3000) AS i`;
    let peak = 0;
    let loading = true;
    const sampler = (async () => {
      while (loading) {
        peak = Math.max(peak, await connectionsTo(probe, database));
        await Bun.sleep(2);
      }
    })();
    const responses = await Promise.all(
      Array.from({ length: CONCURRENT_REQUESTS }, (_, i) =>
        api.request("GET", `/courses?limit=20&offset=${(i % 10) * 20}`),
      ),
    );
    loading = false;
    await sampler;
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    const after = await connectionsTo(probe, database);
    // Connections stay open when idle, so the count after the load is part of the peak too.
    return { peak: Math.max(peak, after), after };
  } finally {
    await probe.close();
    await api.close();
  }
}

describe("DB_POOL_MAX flag", () => {
  test("DB_POOL_MAX=3: never more than 3 connections to the service's database under concurrent load", async () => {
    const { peak, after } = await peakConnections(3);
    expect(peak).toBeLessThanOrEqual(3);
    expect(after).toBe(3);
  });

  test("DB_POOL_MAX=8: the same load opens more, and still no more than 8", async () => {
    const { peak, after } = await peakConnections(8);
    expect(peak).toBeGreaterThan(3);
    expect(peak).toBeLessThanOrEqual(8);
    expect(after).toBeLessThanOrEqual(8);
  });
});
