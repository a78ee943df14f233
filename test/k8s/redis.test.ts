import { afterEach, expect, setDefaultTimeout } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SERVICE_NAMES, unauthorized } from "@lab/shared";
import { RedisCache } from "@lab/shared/cache";
import { RedisLink } from "@lab/shared/redis";
import { CACHE_REDIS_ARGS, LOGIN_REDIS_ARGS, type RedisServer, startRedis } from "../../scripts/lib/redis";
import { LoginThrottle } from "../../services/identity/src/users/throttle";
import { needs } from "../tools";
import {
  containerEnv,
  type K8sObject,
  kustomizations,
  mainContainer,
  ROOT,
  render,
  TEST_SECRETS,
  workloads,
} from "./kustomize";

const { describe, test } = needs(["kubectl", "redis-server"]);

// kubectl kustomize renders each folder once per file; on a loaded machine that takes a while
setDefaultTimeout(120_000);

/**
 * Why the eviction policies are what they are. The cache's Redis (`redis`) evicts only keys with an
 * expiry (`volatile-lru`): the cache's version keys have none (shared/src/cache.ts), and one evicted
 * under `allkeys-lru` restarts its group's numbering, so pages older than the last course created
 * are served again until their TTL. Identity's login counters live in a Redis of their own
 * (`identity-redis`) that evicts nothing (`noeviction`): an evicted counter is a fresh window for a
 * password guesser. compose.yaml and `bun run start` run the same two (CACHE_REDIS_ARGS, LOGIN_REDIS_ARGS).
 */
const CACHE_POLICY = "volatile-lru";
const THROTTLE_POLICY = "noeviction";
/** What identity-redis.yaml's maxmemory arithmetic takes one login counter to cost, at most. */
const COUNTER_BYTES = 200;

const argAfter = (args: readonly string[] | undefined, flag: string) => args?.[args.indexOf(flag) + 1];
const redisArgs = (objects: K8sObject[], name: string) =>
  mainContainer(workloads(objects).find((workload) => workload.name === name)!).args;

let servers: RedisServer[] = [];
/** Connections opened by a test, closed after it (a RedisLink or a RedisCache). */
const connections: { close(): unknown }[] = [];
afterEach(async () => {
  for (const connection of connections.splice(0)) await connection.close();
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
});

async function redisWith(settings: readonly string[]) {
  const server = await startRedis({ settings });
  servers.push(server);
  return server;
}

/** A second connection for looking inside, as an operator would with redis-cli. */
async function inspector(server: RedisServer) {
  return (await usableLink(server)).client;
}

/** A login whose password is refused: what the throttle counts. */
const refused = () => Promise.reject(unauthorized("wrong password"));

const usedMemory = async (client: RedisLink["client"]) =>
  Number(/used_memory:(\d+)/.exec(await client.info("memory"))?.[1]);

test("the cache's Redis is the same wherever the lab runs it, and keeps keys without expiry", async () => {
  expect(argAfter(CACHE_REDIS_ARGS, "--maxmemory-policy")).toBe(CACHE_POLICY);
  for (const dir of kustomizations())
    expect(redisArgs(await render(dir), "redis"), dir).toEqual(["redis-server", ...CACHE_REDIS_ARGS]);
  const compose = Bun.YAML.parse(readFileSync(join(ROOT, "compose.yaml"), "utf8")) as {
    services: Record<string, { command?: string[] }>;
  };
  expect(compose.services.redis?.command).toEqual(["redis-server", ...CACHE_REDIS_ARGS]);
  // `bun run start` and the experiments: startRedis with its defaults, asked as a client would
  const lab = await startRedis();
  servers.push(lab);
  expect(await (await inspector(lab)).config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", CACHE_POLICY]);
});

test("identity counts in a Redis of its own that evicts nothing; the other services cache in the shared one", async () => {
  for (const dir of kustomizations()) {
    const objects = await render(dir);
    expect(argAfter(redisArgs(objects, "identity-redis"), "--maxmemory-policy"), dir).toBe(THROTTLE_POLICY);
    expect(redisArgs(objects, "identity-redis"), dir).toEqual(["redis-server", ...LOGIN_REDIS_ARGS]);
    for (const name of SERVICE_NAMES) {
      const service = workloads(objects).find((workload) => workload.name === name)!;
      const url = containerEnv(objects, service.spec.containers[0]!, TEST_SECRETS).REDIS_URL;
      expect(url, `${dir} ${name}`).toBe(name === "identity" ? "redis://identity-redis:6379" : "redis://redis:6379");
    }
  }
});

describe("the policies at work, on a real redis-server filled past its maxmemory", () => {
  /** A cache group's version key, then idle entries written until `maxmemory` has evicted many: is the version still there? */
  async function versionKeyAfterFilling(policy: string) {
    const server = await redisWith([...CACHE_REDIS_ARGS.slice(0, -1), policy]);
    const redis = await inspector(server);
    // the manifest's 256mb would take long to fill: the same policy over 2 MB above what is in use
    await redis.config("SET", "maxmemory", String((await usedMemory(redis)) + 2 * 2 ** 20));
    const cache = new RedisCache({ url: server.url, prefix: "course:", ttlSeconds: 60, commandTimeoutMs: 5_000 });
    connections.push(cache);
    while (cache.state !== "up") await Bun.sleep(10);
    await cache.invalidate("list");
    const page = "x".repeat(6_000); // as large as the largest list page (docs/scaling.md)
    for (let id = 0; id < 3_000; id++) await cache.remember({ key: `courses:id:${id}`, load: async () => page });
    const stats = await redis.info("stats");
    return {
      evicted: Number(/evicted_keys:(\d+)/.exec(stats)?.[1]),
      version: await redis.get("course:list:version"),
    };
  }

  test(`${CACHE_POLICY}: entries make room, the version key stays`, async () => {
    const { evicted, version } = await versionKeyAfterFilling(CACHE_POLICY);
    expect(evicted).toBeGreaterThan(1_000);
    expect(version).toBe("1");
  });

  test("allkeys-lru, which the manifests had: the idle version key is evicted with the entries", async () => {
    const { evicted, version } = await versionKeyAfterFilling("allkeys-lru");
    expect(evicted).toBeGreaterThan(1_000);
    expect(version).toBeNull();
  });

  test(`${THROTTLE_POLICY}, full: every counter kept, and the throttle still refuses by counting in the process`, async () => {
    const args = redisArgs(await render("base"), "identity-redis")!;
    const server = await redisWith(args.slice(1));
    const redis = await inspector(server);
    const link = await usableLink(server);
    const throttle = new LoginThrottle({ perAccount: 3, perClient: 1_000, windowSeconds: 300, redis: link });
    await throttle.attempt("early@example.test", "198.51.100.1", refused).catch(() => {});
    expect(await redis.get("identity:login:account:early@example.test")).toBe("1");

    // full: small keys with an expiry (as counters are) until Redis refuses the next one
    await redis.config("SET", "maxmemory", String((await usedMemory(redis)) + 2 ** 18));
    let filler = 0;
    await expect(async () => {
      for (;;) await redis.set(`identity:login:client:filler-${filler++}`, "1", "EX", 300);
    }).toThrow(/OOM/);
    await expect(redis.incr("identity:login:account:probe@example.test")).rejects.toThrow(/OOM/);
    expect(Number(/evicted_keys:(\d+)/.exec(await redis.info("stats"))?.[1])).toBe(0);
    expect(await redis.get("identity:login:account:early@example.test")).toBe("1");

    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 4; attempt++)
      outcomes.push(
        await throttle
          .attempt("late@example.test", "198.51.100.2", refused)
          .then(() => "ok")
          .catch((error: { status?: number }) => String(error.status)),
      );
    expect(outcomes).toEqual(["401", "401", "401", "429"]);
    expect(await redis.exists("identity:login:account:late@example.test")).toBe(0);
  });

  test(`a login counter costs at most ${COUNTER_BYTES} bytes, as identity-redis.yaml's maxmemory assumes`, async () => {
    const server = await redisWith(redisArgs(await render("base"), "identity-redis")!.slice(1));
    const redis = await inspector(server);
    const throttle = new LoginThrottle({
      perAccount: 5,
      perClient: 30,
      windowSeconds: 300,
      redis: await usableLink(server),
    });
    const before = await usedMemory(redis);
    const guesses = 2_500;
    for (let guess = 0; guess < guesses; guess++)
      await throttle
        .attempt(`student.number.${guess}@a-university.example.edu`, `203.0.${guess >> 8}.${guess & 255}`, refused)
        .catch(() => {});
    expect(await redis.dbsize()).toBe(2 * guesses);
    const perCounter = ((await usedMemory(redis)) - before) / (2 * guesses);
    expect(perCounter).toBeLessThanOrEqual(COUNTER_BYTES);
    expect(readFileSync(join(ROOT, "deploy/k8s/base/redis/identity-redis.yaml"), "utf8")).toContain(
      `9.4 × 300 × 2 × ${COUNTER_BYTES} B`,
    );
  });
});

/** Connected; commands may take 5 s (not the services' 250 ms), so a busy machine never sends one to the fallback. */
async function usableLink(server: RedisServer) {
  const link = new RedisLink({
    url: server.url,
    commandTimeoutMs: 5_000,
    whileDown: "counting in memory",
    whenBack: "-",
  });
  connections.push(link);
  while (!link.usable) await Bun.sleep(10);
  return link;
}
