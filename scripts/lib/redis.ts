import { freePort } from "./postgres";
import { spawnCollecting, stopProcess } from "./process";

export type RedisServer = {
  port: number;
  url: string;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period) and waits for it to exit. */
  stop: () => Promise<void>;
};

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

export class RedisMissingError extends Error {}

/** The `redis-server` on PATH, or an error that says how to install it. */
export function redisServerBinary(): string {
  const binary = Bun.which("redis-server") ?? Bun.which("redis-server", { PATH: "/usr/sbin:/usr/bin" });
  if (!binary) {
    throw new RedisMissingError("redis-server is not installed: apt-get install redis-server (Debian/Ubuntu)");
  }
  return binary;
}

/**
 * How the cache's Redis runs wherever the lab runs one (here, compose.yaml, deploy/k8s): nothing
 * persisted, and once full only keys with an expiry are evicted (every cached entry); identity's
 * login counters live in a Redis of their own (LOGIN_REDIS_ARGS). The cache's version keys have no expiry on purpose (shared/src/cache.ts): `allkeys-lru`
 * could evict one, and pages older than the last write would be served again until their TTL.
 * test/k8s/redis.test.ts checks the three against this list.
 */
export const CACHE_REDIS_ARGS = [
  "--save",
  "",
  "--appendonly",
  "no",
  "--maxmemory",
  "256mb",
  "--maxmemory-policy",
  "volatile-lru",
] as const;

/**
 * How identity's login counters' own Redis runs wherever the lab runs one (`bun run start` with
 * CACHE=redis, compose.yaml's identity-redis, deploy/k8s's identity-redis.yaml): nothing persisted,
 * and nothing ever evicted, since an evicted counter is a fresh window for a password guesser. Full,
 * it refuses new counts and identity counts in each process's memory until windows expire. Sized
 * in deploy/k8s/base/redis/identity-redis.yaml.
 */
export const LOGIN_REDIS_ARGS = [
  "--save",
  "",
  "--appendonly",
  "no",
  "--maxmemory",
  "128mb",
  "--maxmemory-policy",
  "noeviction",
] as const;

/**
 * A throw-away Redis on 127.0.0.1 (a free port unless given), run as CACHE_REDIS_ARGS say unless
 * `settings` replaces them: a restart starts empty, like a cache that lost its memory.
 */
export async function startRedis(
  options: { port?: number; settings?: readonly string[]; log?: (line: string) => void } = {},
): Promise<RedisServer> {
  const port = options.port ?? freePort();
  const { child, output } = spawnCollecting(
    [
      redisServerBinary(),
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      ...(options.settings ?? CACHE_REDIS_ARGS),
      "--loglevel",
      "warning",
    ],
    { log: options.log },
  );

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await pingRedis(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server on port ${port} did not start:\n${output().trim()}`);
    }
    await Bun.sleep(50);
  }

  const stop = async () => {
    await stopProcess(child, STOP_GRACE_MS);
  };
  return { port, url: `redis://127.0.0.1:${port}`, pid: child.pid, stop };
}

/** True when something on the port answers a Redis PING with PONG. */
export async function pingRedis(port: number, timeoutMs = 500): Promise<boolean> {
  const { promise, resolve } = Promise.withResolvers<boolean>();
  const timer = setTimeout(() => resolve(false), timeoutMs);
  try {
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.write("PING\r\n");
        },
        data(s, data) {
          resolve(data.toString().startsWith("+PONG"));
          s.end();
        },
        error() {
          resolve(false);
        },
        close() {
          resolve(false);
        },
      },
    });
    const answer = await promise;
    socket.end();
    return answer;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
