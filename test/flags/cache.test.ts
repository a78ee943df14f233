import { expect } from "bun:test";
import { join } from "node:path";
import { Metrics } from "@lab/shared";
import { NoCache, RedisCache } from "@lab/shared/cache";
import { type RedisServer, startRedis } from "../../scripts/lib/redis";
import { courseApp } from "../../services/course/src/app";
import { type Harness, serviceHarness, tokenFor } from "../support";
import { needs } from "../tools";

const { afterAll, beforeAll, describe, test } = needs(["redis-server"]);

const migrations = join(import.meta.dir, "../../services/course/migrations");

let redis: RedisServer;
let probe: RedisCache;
beforeAll(async () => {
  redis = await startRedis();
  probe = new RedisCache({ url: redis.url, prefix: "probe:", ttlSeconds: 60 });
});
afterAll(async () => {
  await probe?.close();
  await redis?.stop();
});

/** Units of work the service's pool ran: a read served from the cache runs none. */
async function dbQueries(metrics: Metrics) {
  const { values } = await metrics.dbQueryDuration.get();
  return values.filter((v) => v.metricName === "db_query_duration_seconds_count").reduce((sum, v) => sum + v.value, 0);
}

async function cacheLookups(metrics: Metrics) {
  const { values } = await metrics.cacheRequests.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** Clients connected to the test Redis other than the probe itself. */
async function otherClients() {
  const list = (await probe.client.client("LIST")) as string;
  return list.trim().split("\n").length - 1;
}

async function readTwice(api: Harness) {
  const teacher = await tokenFor({ role: "teacher", is_verified: true });
  const created = await api.request("POST", "/courses", {
    token: teacher,
    body: { title: "Flag probe", description: "", level: "beginner", price_cents: 0, duration_hours: 1 },
  });
  expect(created.status).toBe(201);
  const before = await dbQueries(api.context.metrics);
  for (let i = 0; i < 2; i++) {
    expect((await api.request("GET", "/courses?limit=3")).status).toBe(200);
    expect((await api.request("GET", `/courses/${created.body.id}`)).status).toBe(200);
  }
  return (await dbQueries(api.context.metrics)) - before;
}

describe("CACHE flag", () => {
  test("off: no Redis connection at all, every read goes to the database", async () => {
    const api = await serviceHarness("course", migrations, courseApp, { CACHE: "off", REDIS_URL: redis.url });
    try {
      expect(api.context.cache).toBeInstanceOf(NoCache);
      expect(await readTwice(api)).toBe(4);
      expect(await cacheLookups(api.context.metrics)).toBe(0);
      expect(await otherClients()).toBe(0);
    } finally {
      await api.close();
    }
  });

  test("redis: the second reads of a page and a course do not reach the database", async () => {
    const api = await serviceHarness("course", migrations, courseApp, { CACHE: "redis", REDIS_URL: redis.url });
    try {
      expect(api.context.cache).toBeInstanceOf(RedisCache);
      for (let i = 0; i < 100 && api.context.cache.state !== "up"; i++) await Bun.sleep(50);
      expect(await otherClients()).toBe(1);
      expect(await readTwice(api)).toBe(2);
      expect(await cacheLookups(api.context.metrics)).toBe(4);
    } finally {
      await api.close();
    }
  });
});

describe("a Redis that stops answering", () => {
  test("costs one command timeout, is skipped while it hangs, and is used again once it answers", async () => {
    const metrics = new Metrics("probe");
    const cache = new RedisCache({ url: redis.url, prefix: "hang:", ttlSeconds: 60, metrics, commandTimeoutMs: 100 });
    let loads = 0;
    const read = () =>
      cache.remember({
        key: "k",
        load: async () => {
          loads++;
          return { n: 1 };
        },
      });
    try {
      for (let i = 0; i < 100 && cache.state !== "up"; i++) await Bun.sleep(20);
      expect(await read()).toEqual({ n: 1 });
      process.kill(redis.pid, "SIGSTOP");
      try {
        const answers = await Promise.all(Array.from({ length: 10 }, read));
        expect(answers).toEqual(Array.from({ length: 10 }, () => ({ n: 1 })));
        expect(cache.state).toBe("down");
        // Skipped without a command: answered from the loader while Redis is still frozen.
        expect(await read()).toEqual({ n: 1 });
      } finally {
        process.kill(redis.pid, "SIGCONT");
      }
      expect(loads).toBe(12);
      for (let i = 0; i < 100 && cache.state !== "up"; i++) await Bun.sleep(50);
      expect(cache.state).toBe("up");
      expect(await read()).toEqual({ n: 1 });
      expect(loads).toBe(12);
      const { values } = await metrics.cacheRequests.get();
      const count = (result: string) => values.find((v) => v.labels.result === result)?.value;
      expect([count("hit"), count("miss"), count("error")]).toEqual([1, 1, 11]);
    } finally {
      await cache.close();
    }
  });
});
