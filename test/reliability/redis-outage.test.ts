import { expect, setDefaultTimeout } from "bun:test";
import { SQL } from "bun";
import { type RedisServer, startRedis } from "../../scripts/lib/redis";
import type { Stack } from "../../scripts/lib/stack";
import { throwAwayStack } from "../support";
import { needs } from "../tools";
import { percentile, startLoad, tally } from "./load";

const { afterAll, beforeAll, describe, test } = needs(["redis-server"]);

// real PostgreSQL, real processes and password hashing on a shared 2-core machine
setDefaultTimeout(30_000);

/**
 * CACHE=redis with Redis stopped under load: Redis is never a single point of failure. Every
 * request is still answered (from the database), and the cache is used again once Redis is back.
 */
let redis: RedisServer;
let stack: Stack & { dir: string };
let courseIds: number[] = [];

beforeAll(async () => {
  redis = await startRedis();
  stack = await throwAwayStack("lab-redis-outage", { CACHE: "redis", REDIS_URL: redis.url });
  const identity = stack.urls.identity;
  const teacher = { email: "cache@redis.test", password: "a long enough password", full_name: "T", role: "teacher" };
  const registered = await fetch(`${identity}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(teacher),
  });
  const { id } = (await registered.json()) as { id: number };
  const sql = new SQL({ url: stack.databaseUrls.identity, max: 1 });
  await sql`UPDATE users SET is_verified = true WHERE id = ${id}`;
  await sql.close();
  const login = await fetch(`${identity}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: teacher.email, password: teacher.password }),
  });
  const { access_token } = (await login.json()) as { access_token: string };
  courseIds = [];
  for (let i = 0; i < 5; i++) {
    const created = await fetch(`${stack.urls.course}/courses`, {
      method: "POST",
      headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json" },
      body: JSON.stringify({
        title: `Cached ${i}`,
        description: "",
        level: "beginner",
        price_cents: 0,
        duration_hours: 1,
      }),
    });
    courseIds.push(((await created.json()) as { id: number }).id);
  }
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
}, 60_000);

/** The course service's cache look-ups so far, by result. */
async function cacheCounts() {
  const text = await (await fetch(`${stack.urls.course}/metrics`)).text();
  const count = (result: string) =>
    Number(new RegExp(`^cache_requests_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, "m").exec(text)?.[1] ?? NaN);
  return { hit: count("hit"), miss: count("miss"), error: count("error") };
}

describe("Redis stopped with CACHE=redis", () => {
  test("zero failed requests while it is down (served from the database); cache hits again once it is back", async () => {
    const course = stack.urls.course;
    const load = startLoad(
      [
        { name: "list", send: (signal) => fetch(`${course}/courses?limit=5`, { signal }) },
        ...courseIds.map((id) => ({
          name: "by id",
          send: (signal: AbortSignal) => fetch(`${course}/courses/${id}`, { signal }),
        })),
      ],
      { workers: 4, maxMs: 30_000, requestTimeoutMs: 10_000, pauseMs: 10 },
    );
    await Bun.sleep(1_500);
    const beforeOutage = await cacheCounts();
    await redis.stop();
    const down = performance.now();
    await Bun.sleep(3_000);
    const duringOutage = await cacheCounts();
    const up = performance.now();
    redis = await startRedis({ port: redis.port });
    let recoveredMs: number | null = null;
    while (recoveredMs === null && performance.now() - up < 15_000) {
      await Bun.sleep(100);
      if ((await cacheCounts()).hit > duringOutage.hit) recoveredMs = performance.now() - up;
    }
    await Bun.sleep(500);
    const samples = await load.stop();
    const after = await cacheCounts();
    const outage = samples.filter((s) => s.started >= down && s.ended <= up);
    const summary = {
      requests: samples.length,
      statuses: tally(samples),
      during_outage: { requests: outage.length, statuses: tally(outage) },
      outage_answer_ms: {
        p50: Math.round(
          percentile(
            outage.map((s) => s.ended - s.started),
            50,
          ),
        ),
        p99: Math.round(
          percentile(
            outage.map((s) => s.ended - s.started),
            99,
          ),
        ),
      },
      cache: { before_outage: beforeOutage, during_outage: duringOutage, after },
      cache_hits_again_ms_after_redis_restart: recoveredMs === null ? null : Math.round(recoveredMs),
    };
    console.log(JSON.stringify({ redis_outage: summary }));

    expect(tally(samples)).toEqual({ "200": samples.length });
    expect(outage.length).toBeGreaterThan(50);
    // the cache was in use before, was bypassed while down, and is used again
    expect(beforeOutage.hit).toBeGreaterThan(0);
    expect(duringOutage.error).toBeGreaterThan(beforeOutage.error);
    expect(duringOutage.hit - beforeOutage.hit).toBeLessThan(outage.length / 10);
    expect(recoveredMs).not.toBeNull();
  }, 60_000);
});
