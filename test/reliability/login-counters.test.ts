import { expect, setDefaultTimeout } from "bun:test";
import { RedisLink } from "@lab/shared/redis";
import type { Stack } from "../../scripts/lib/stack";
import { throwAwayStack, waitUntil } from "../support";
import { needs } from "../tools";

const { afterAll, beforeAll, describe, test } = needs(["redis-server"]);

// the whole platform as `bun run start` starts it, two redis-servers and password hashing on 2 shared cores
setDefaultTimeout(60_000);

/**
 * `bun run start` with CACHE=redis: the cache evicts keys with an expiry when full (volatile-lru),
 * and login counters have one. Sharing that Redis, a flood of cache entries evicted the counters
 * and gave a guesser a fresh window. Identity's counters now live in a Redis of their own that
 * evicts nothing, so no cache flood, with the cache's Redis at a small maxmemory, resets them.
 */
const PER_ACCOUNT = 3;
let stack: Stack & { dir: string };
let links: RedisLink[] = [];
let cache: RedisLink["client"];
let counters: RedisLink["client"];

/** A connection for looking inside, as an operator would with redis-cli. */
async function inspect(url: string | undefined) {
  const link = new RedisLink({ url: url as string, commandTimeoutMs: 5_000, whileDown: "-", whenBack: "-" });
  links.push(link);
  await waitUntil(async () => link.usable, { timeoutMs: 5_000, intervalMs: 20, failure: `${url} not reachable` });
  return link.client;
}

beforeAll(async () => {
  stack = await throwAwayStack("lab-login-counters", {
    CACHE: "redis",
    LOGIN_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT),
    LOGIN_WINDOW_SECONDS: "300",
  });
  cache = await inspect(stack.redis?.url);
  counters = await inspect(stack.loginRedis?.url);
}, 120_000);

afterAll(async () => {
  for (const link of links) link.close();
  links = [];
  await stack?.stop();
}, 60_000);

const post = (path: string, body: unknown) =>
  fetch(`${stack.urls.identity}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((response) => response.status);

const evictions = async (redis: RedisLink["client"]) =>
  Number(/evicted_keys:(\d+)/.exec(await redis.info("stats"))?.[1]);

describe("login counters beside a cache that evicts", () => {
  test("a cache flood past the cache Redis's maxmemory leaves the counters, and the guesser, blocked", async () => {
    const email = "counted@login-counters.test";
    expect(await post("/register", { email, password: "the right password", full_name: "C", role: "student" })).toBe(
      201,
    );
    for (let guess = 0; guess < PER_ACCOUNT; guess++)
      expect(await post("/login", { email, password: "wrong" })).toBe(401);
    expect(await post("/login", { email, password: "wrong again" })).toBe(429);
    expect(await counters.get(`identity:login:account:${email}`)).toBe(String(PER_ACCOUNT));
    expect(await cache.keys("identity:*")).toEqual([]);

    // the cache's Redis a few MB above what it holds, then flooded with entries that expire, as cached pages do
    const used = Number(/used_memory:(\d+)/.exec(await cache.info("memory"))?.[1]);
    await cache.config("SET", "maxmemory", String(used + 3 * 2 ** 20));
    const page = "x".repeat(2_000);
    for (let batch = 0; batch < 40; batch++) {
      const pipeline = cache.pipeline();
      for (let i = 0; i < 200; i++) pipeline.set(`course:flood:${batch}:${i}`, page, "EX", 300);
      await pipeline.exec();
    }
    expect(await evictions(cache)).toBeGreaterThan(1_000);

    expect(await post("/login", { email, password: "the guess after the flood" })).toBe(429);
    expect(await counters.get(`identity:login:account:${email}`)).toBe(String(PER_ACCOUNT));
    expect(await counters.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
    expect(await evictions(counters)).toBe(0);
  });
});
