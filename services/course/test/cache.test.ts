import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Metrics } from "@lab/shared";
import type { RedisCache } from "@lab/shared/cache";
import { type RedisServer, startRedis } from "../../../scripts/lib/redis";
import { type Harness, serviceHarness, tokenFor } from "../../../test/support";
import { courseApp } from "../src/app";

let redis: RedisServer;
let api: Harness;
let teacher: string;

beforeAll(async () => {
  redis = await startRedis();
  api = await serviceHarness("course", join(import.meta.dir, "../migrations"), courseApp, {
    CACHE: "redis",
    REDIS_URL: redis.url,
    CACHE_TTL_SECONDS: "120",
  });
  teacher = await tokenFor({ id: 11, role: "teacher", is_verified: true, name: "Barbara Liskov" });
  await waitForCache("up");
});
afterAll(async () => {
  await api.close();
  await redis.stop();
});

const client = () => (api.context.cache as RedisCache).client;

async function waitForCache(state: "up" | "down") {
  for (let i = 0; i < 100 && api.context.cache.state !== state; i++) await Bun.sleep(50);
  expect(api.context.cache.state).toBe(state);
}

async function cacheCounts(metrics: Metrics) {
  const { values } = await metrics.cacheRequests.get();
  const count = (result: string) => values.find((v) => v.labels.result === result)?.value ?? 0;
  return { hit: count("hit"), miss: count("miss"), error: count("error") };
}

/** What the cache counted while `work` ran. */
async function counted(work: () => Promise<unknown>) {
  const before = await cacheCounts(api.context.metrics);
  await work();
  const after = await cacheCounts(api.context.metrics);
  return { hit: after.hit - before.hit, miss: after.miss - before.miss, error: after.error - before.error };
}

async function create(title: string) {
  const response = await api.request("POST", "/courses", {
    token: teacher,
    body: { title, description: "Cached or not", level: "beginner", price_cents: 0, duration_hours: 2 },
  });
  expect(response.status).toBe(201);
  return response.body as { id: number; title: string };
}

const titles = (body: { items: { title: string }[] }) => body.items.map((c) => c.title);

describe("CACHE=redis for the course service", () => {
  test("a list page is a miss, then a hit served from Redis even when the table changed behind it", async () => {
    await create("Cache page one");
    const first = await counted(() => api.request("GET", "/courses?limit=5"));
    expect(first).toEqual({ hit: 0, miss: 1, error: 0 });
    const page = await api.request("GET", "/courses?limit=5");
    // A change that bypasses the service (and so the invalidation) proves the next read is the cached one.
    await api.db.query`UPDATE courses SET title = 'Changed behind the cache'`;
    let again: Awaited<ReturnType<Harness["request"]>> | undefined;
    const second = await counted(async () => {
      again = await api.request("GET", "/courses?limit=5");
    });
    expect(second).toEqual({ hit: 1, miss: 0, error: 0 });
    expect(again?.status).toBe(200);
    expect(again?.body).toEqual(page.body);
    expect(titles(again?.body)).toContain("Cache page one");
  });

  test("different pages, filters and searches are different entries", async () => {
    const reads = await counted(async () => {
      await api.request("GET", "/courses?limit=5&offset=1");
      await api.request("GET", "/courses?limit=5&level=advanced");
      await api.request("GET", "/courses?limit=5&q=cache");
    });
    expect(reads).toEqual({ hit: 0, miss: 3, error: 0 });
  });

  test("creating a course drops every cached list page at once", async () => {
    await api.request("GET", "/courses?limit=5");
    await api.request("GET", "/courses?limit=5&q=fresh");
    const created = await create("Fresh after invalidation");
    let list: Awaited<ReturnType<Harness["request"]>> | undefined;
    let search: Awaited<ReturnType<Harness["request"]>> | undefined;
    const reads = await counted(async () => {
      list = await api.request("GET", "/courses?limit=5");
      search = await api.request("GET", "/courses?limit=5&q=fresh");
    });
    expect(reads).toEqual({ hit: 0, miss: 2, error: 0 });
    expect(list?.body.items[0].id).toBe(created.id);
    expect(titles(search?.body)).toEqual(["Fresh after invalidation"]);
  });

  test("a course by id is cached with its created_at still a date", async () => {
    const created = await create("By id");
    const first = await api.request("GET", `/courses/${created.id}`);
    await api.db.query`UPDATE courses SET title = 'Changed behind the cache' WHERE id = ${created.id}`;
    let second: Awaited<ReturnType<Harness["request"]>> | undefined;
    const reads = await counted(async () => {
      second = await api.request("GET", `/courses/${created.id}`);
    });
    expect(reads).toEqual({ hit: 1, miss: 0, error: 0 });
    expect(second?.body).toEqual(first.body);
    expect(second?.body.title).toBe("By id");
    expect(Number.isNaN(Date.parse(second?.body.created_at))).toBe(false);
    // the hit is the stored text itself, answered as the miss was
    expect(second?.text).toBe(first.text);
    for (const header of ["content-type", "vary"]) expect(second?.headers.get(header)).toBe(first.headers.get(header));
    expect(second?.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const fragment = await api.request("GET", `/courses/${created.id}`, { headers: { "hx-request": "true" } });
    expect(fragment.text).toContain("By id");
  });

  test("an unknown id is not cached: once the course exists it is found", async () => {
    const id = 900_001;
    expect((await api.request("GET", `/courses/${id}`)).status).toBe(404);
    await api.db.query`
      INSERT INTO courses (id, title, description, level, price_cents, duration_hours, teacher_id, teacher_name)
      VALUES (${id}, 'Arrived later', '', 'beginner', 0, 1, 11, 'Barbara Liskov')`;
    const found = await api.request("GET", `/courses/${id}`);
    expect(found.status).toBe(200);
    expect(found.body.title).toBe("Arrived later");
  });

  test("entries carry the TTL of CACHE_TTL_SECONDS and the service's prefix", async () => {
    const created = await create("With a TTL");
    await api.request("GET", `/courses/${created.id}`);
    const key = `course:courses:id:${created.id}`;
    const ttl = await client().ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);
    const listKeys = await client().keys("course:courses:list:v*");
    expect(listKeys.length).toBeGreaterThan(0);
  });

  test("with Redis down every request is served from the database and counted as a cache error; then it recovers", async () => {
    const created = await create("Survives an outage");
    await redis.stop();
    await waitForCache("down");

    const paths = [
      ...Array.from({ length: 20 }, (_, i) => `/courses?limit=5&offset=${i % 4}`),
      ...Array.from({ length: 20 }, () => `/courses/${created.id}`),
    ];
    let responses: Awaited<ReturnType<Harness["request"]>>[] = [];
    const outage = await counted(async () => {
      responses = await Promise.all(paths.map((path) => api.request("GET", path)));
    });
    expect(responses.map((r) => r.status)).toEqual(paths.map(() => 200));
    expect(responses.at(-1)?.body.title).toBe("Survives an outage");
    expect(outage).toEqual({ hit: 0, miss: 0, error: paths.length });
    // Writes go on too: the invalidation that cannot reach Redis is logged, not thrown.
    await create("Created during the outage");

    redis = await startRedis({ port: redis.port });
    await waitForCache("up");
    const recovered = await counted(async () => {
      await api.request("GET", `/courses/${created.id}`);
      await api.request("GET", `/courses/${created.id}`);
    });
    expect(recovered).toEqual({ hit: 1, miss: 1, error: 0 });
  });
});
