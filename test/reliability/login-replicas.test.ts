import { expect, setDefaultTimeout } from "bun:test";
import { unauthorized } from "@lab/shared";
import { RedisLink } from "@lab/shared/redis";
import { type RedisServer, startRedis } from "../../scripts/lib/redis";
import { LoginThrottle } from "../../services/identity/src/users/throttle";
import { freshDatabase, waitUntil } from "../support";
import { needs } from "../tools";
import { type ServiceProcess, spawnService } from "./processes";

const { afterAll, beforeAll, describe, test } = needs(["redis-server"]);

// real PostgreSQL, Redis, two identity processes and password hashing on a shared 2-core machine
setDefaultTimeout(60_000);

/**
 * Two identity replicas (separate processes, one database) sharing one real redis-server: the
 * login limits hold across both, as if they were one. With Redis stopped each replica falls back
 * to counting on its own and keeps answering; once Redis is back they share again.
 */
const PER_ACCOUNT = 4;
const PER_CLIENT = 6;
const WINDOW_SECONDS = 60;
const PASSWORD = "the right password";
const FALLBACK_WARNING = "redis unreachable, counting failed logins in this process";
const BACK_LINE = "redis reachable again, counting failed logins in Redis";

let redis: RedisServer;
let replicas: [ServiceProcess, ServiceProcess];

beforeAll(async () => {
  redis = await startRedis();
  const env = {
    DATABASE_URL: await freshDatabase("identity_replicas"),
    REDIS_URL: redis.url,
    LOGIN_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT),
    LOGIN_FAILURES_PER_CLIENT: String(PER_CLIENT),
    LOGIN_WINDOW_SECONDS: String(WINDOW_SECONDS),
    // each test names its client in X-Forwarded-For: the test, on 127.0.0.1, is the proxy
    TRUSTED_PROXIES: "127.0.0.1",
    REGISTRATIONS_PER_CLIENT: "1000",
    // the line saying Redis is back is at info
    LOG_LEVEL: "info",
  };
  // one after the other: the first migrates the shared database
  const first = await spawnService("identity", env);
  replicas = [first, await spawnService("identity", env)];
}, 90_000);

afterAll(async () => {
  await Promise.all((replicas ?? []).map((replica) => replica.stop()));
  await redis?.stop();
}, 30_000);

let accounts = 0;
async function account() {
  const email = `user${++accounts}@replicas.test`;
  const response = await post(replicas[0], "/register", { email, password: PASSWORD, full_name: "R", role: "student" });
  expect(response.status).toBe(201);
  return email;
}

let clients = 0;
const newClient = () => `198.51.100.${++clients}`;

async function post(replica: ServiceProcess, path: string, body: unknown, client = "192.0.2.1") {
  const started = performance.now();
  const response = await fetch(`${replica.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": client },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return { status: response.status, retryAfter: response.headers.get("retry-after"), ms: performance.now() - started };
}

const login = (replica: ServiceProcess, email: string, password: string, client: string) =>
  post(replica, "/login", { email, password }, client);

/** Wrong passwords sent to the replicas in turn (A, B, A, B, …); the statuses, in order. */
async function alternateGuesses(email: string, guesses: number, client: () => string) {
  const statuses: number[] = [];
  for (let guess = 0; guess < guesses; guess++) {
    statuses.push((await login(replicas[guess % 2]!, email, `wrong guess ${guess}`, client())).status);
  }
  return statuses;
}

const lines = (replica: ServiceProcess, text: string) =>
  replica
    .output()
    .split("\n")
    .filter((line) => line.includes(text)).length;

/** What holds whenever both replicas count in Redis: one limit for the pair. */
async function expectOneLimitAcrossBoth() {
  const email = await account();
  // a new client address per guess: only the account's count can block, and it blocks the guessers
  const guessers: string[] = [];
  const guesser = () => guessers[guessers.push(newClient()) - 1] as string;
  expect(await alternateGuesses(email, PER_ACCOUNT, guesser)).toEqual(Array(PER_ACCOUNT).fill(401));
  for (const [i, replica] of replicas.entries()) {
    const blocked = await login(replica, email, PASSWORD, guessers[i] as string);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(blocked.retryAfter)).toBeLessThanOrEqual(WINDOW_SECONDS);
  }
}

describe("two identity replicas sharing one redis-server", () => {
  test("failed logins for one account count once across both: the limit holds for the pair", async () => {
    // per process this would be 2 failures each, under the limit of 4
    await expectOneLimitAcrossBoth();
  });

  test("failed logins from one client count across both, spread over many accounts", async () => {
    const targets = [await account(), await account(), await account()];
    const sprayer = newClient();
    const statuses: number[] = [];
    for (let guess = 0; guess < PER_CLIENT; guess++) {
      const email = targets[guess % targets.length]!;
      statuses.push((await login(replicas[guess % 2]!, email, "Summer2026!", sprayer)).status);
    }
    expect(statuses).toEqual(Array(PER_CLIENT).fill(401));
    for (const replica of replicas) expect((await login(replica, targets[0]!, PASSWORD, sprayer)).status).toBe(429);
    // the accounts themselves are fine from elsewhere
    expect((await login(replicas[1], targets[0]!, PASSWORD, newClient())).status).toBe(200);
  });

  test("a success on one replica clears the account's count on the other", async () => {
    const email = await account();
    expect(await alternateGuesses(email, PER_ACCOUNT - 1, newClient)).toEqual(Array(PER_ACCOUNT - 1).fill(401));
    expect((await login(replicas[0], email, PASSWORD, newClient())).status).toBe(200);
    expect(await alternateGuesses(email, PER_ACCOUNT - 1, newClient)).toEqual(Array(PER_ACCOUNT - 1).fill(401));
    expect((await login(replicas[1], email, PASSWORD, newClient())).status).toBe(200);
  });

  test("with Redis stopped each replica counts on its own and keeps answering; once it is back they share again", async () => {
    const healthy = await login(replicas[0], await account(), PASSWORD, newClient());
    expect(healthy.status).toBe(200);

    await redis.stop();
    const email = await account();
    // logins still work on both, without waiting for the Redis that is gone
    const outageLoginMs: number[] = [];
    for (const replica of replicas) {
      const outage = await login(replica, email, PASSWORD, newClient());
      expect(outage.status).toBe(200);
      // a hang would take the connect or command timeout at every login; a fallback takes a hash
      expect(outage.ms).toBeLessThan(5_000);
      outageLoginMs.push(Math.round(outage.ms));
    }
    // per process: replica A blocks after its own 4 failures, replica B has counted none of them
    const [a, b] = replicas;
    const guesser = newClient();
    for (let guess = 0; guess < PER_ACCOUNT; guess++) {
      expect((await login(a, email, `outage guess ${guess}`, guesser)).status).toBe(401);
    }
    expect((await login(a, email, PASSWORD, guesser)).status).toBe(429);
    expect((await login(b, email, "wrong on B", guesser)).status).toBe(401);
    expect((await login(b, await account(), PASSWORD, newClient())).status).toBe(200);
    // one warning per replica for the whole outage, however many logins fell back
    for (const replica of replicas) expect(lines(replica, FALLBACK_WARNING)).toBe(1);

    redis = await startRedis({ port: redis.port });
    const restarted = performance.now();
    await waitUntil(async () => replicas.every((replica) => lines(replica, BACK_LINE) === 1), {
      timeoutMs: 15_000,
      intervalMs: 100,
      failure: "the replicas did not report Redis back",
    });
    const sharedAgainMs = Math.round(performance.now() - restarted);
    console.log(
      JSON.stringify({
        login_replicas_redis_outage: { login_ms_during_outage: outageLoginMs, shared_again_ms: sharedAgainMs },
      }),
    );
    await expectOneLimitAcrossBoth();
  });
});

describe("a Redis that stops answering (SIGSTOP)", () => {
  test("costs a login one command timeout, then is skipped: failures are counted in memory meanwhile", async () => {
    const commandTimeoutMs = 100;
    const link = new RedisLink({ url: redis.url, commandTimeoutMs, whileDown: "in memory", whenBack: "in Redis" });
    const throttle = new LoginThrottle({ perAccount: 2, perClient: 100, windowSeconds: 60, redis: link });
    const refuse = () => Promise.reject(unauthorized("Invalid email or password"));
    try {
      await waitUntil(async () => link.usable, { timeoutMs: 5_000, intervalMs: 20, failure: "Redis not reachable" });
      process.kill(redis.pid, "SIGSTOP");
      const started = performance.now();
      try {
        await expect(throttle.attempt("frozen@replicas.test", "c", refuse)).rejects.toMatchObject({ status: 401 });
        await expect(throttle.attempt("frozen@replicas.test", "c", refuse)).rejects.toMatchObject({ status: 401 });
        await expect(throttle.attempt("frozen@replicas.test", "c", async () => "token")).rejects.toMatchObject({
          status: 429,
        });
        expect(link.usable).toBe(false);
      } finally {
        process.kill(redis.pid, "SIGCONT");
      }
      // three attempts, each asking Redis twice or more, cost about one timeout, not one per command
      expect(performance.now() - started).toBeLessThan(commandTimeoutMs * 10);
      await waitUntil(async () => link.usable, { timeoutMs: 5_000, intervalMs: 50, failure: "Redis not back" });
      expect(await throttle.attempt("thawed@replicas.test", "c", async () => "token")).toBe("token");
    } finally {
      link.close();
    }
  });
});
