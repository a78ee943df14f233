/**
 * `bun run start` as a person or a process manager stops it: a signal to the launcher's pid alone,
 * during start-up or once it is running, leaves no service or web process behind. The launcher runs
 * against the test server's databases (*_DATABASE_URL), so it starts no PostgreSQL of its own.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { databaseUrlVar, SERVICE_NAMES } from "@lab/shared";
import { freePort } from "../scripts/lib/postgres";
import { pingRedis } from "../scripts/lib/redis";
import { ROOT } from "../scripts/lib/stack";
import { freshDatabase, waitUntil } from "./support";
import { needs } from "./tools";

const START_TIMEOUT_MS = 30_000;

async function launch(args: string[] = []) {
  const ports = Object.fromEntries([...SERVICE_NAMES, "web"].map((name) => [name, freePort()]));
  const env: Record<string, string> = { ...(process.env as Record<string, string>), LOG_LEVEL: "warn" };
  for (const name of SERVICE_NAMES) env[databaseUrlVar(name)] = await freshDatabase(`launcher_${name}`);
  for (const [name, port] of Object.entries(ports)) env[`${name.toUpperCase()}_PORT`] = String(port);
  // PgBouncer and Redis, when an experiment's flags start them, on free ports too
  const redisPort = freePort();
  env.REDIS_PORT = String(redisPort);
  env.PGBOUNCER_PORT = String(freePort());
  delete env.REDIS_URL;
  const child = Bun.spawn(["bun", join(ROOT, "scripts/start.ts"), ...args], {
    cwd: ROOT,
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const urls = Object.values(ports).map((port) => `http://127.0.0.1:${port}/healthz`);
  const answering = () =>
    Promise.all(
      urls.map((url) =>
        fetch(url, { signal: AbortSignal.timeout(500) }).then(
          () => true,
          () => false,
        ),
      ),
    );
  /**
   * Sends `signal` once `ready` holds for the processes answering (and `meanwhile` has looked at the
   * running stack); resolves with the launcher's exit code and stdout.
   */
  const signalWhen = async (
    ready: (answered: boolean[]) => boolean,
    signal: NodeJS.Signals,
    meanwhile: () => Promise<void> = async () => {},
  ) => {
    await waitUntil(async () => ready(await answering()), {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 25,
      failure: "the launcher's processes did not come up in time",
    });
    await meanwhile().finally(() => child.kill(signal));
    return { code: await child.exited, output: await new Response(child.stdout).text() };
  };
  return { urls, ports, redisPort, answering, signalWhen };
}

describe("bun run start stops everything it started", () => {
  test(
    "SIGINT to the launcher alone while it is still starting",
    async () => {
      const { urls, answering, signalWhen } = await launch();
      // the first process up is the moment the others are still starting
      const { code } = await signalWhen((answered) => answered.some(Boolean), "SIGINT");
      expect(code).toBe(0);
      expect(await answering()).toEqual(urls.map(() => false));
    },
    START_TIMEOUT_MS * 2,
  );

  test(
    "SIGTERM to the launcher alone once it is running",
    async () => {
      const { urls, answering, signalWhen } = await launch();
      const { code, output } = await signalWhen((answered) => answered.every(Boolean), "SIGTERM");
      expect(code).toBe(0);
      expect(output).toContain("stopped");
      expect(await answering()).toEqual(urls.map(() => false));
    },
    START_TIMEOUT_MS * 2,
  );
});

describe("bun run start --experiment", () => {
  needs(["redis-server", "pgbouncer"], "test/launcher.test.ts: bun run start --experiment 04-redis").test(
    "04-redis starts Redis and every service with that experiment's flags, and stops Redis with them",
    async () => {
      const { ports, redisPort, answering, signalWhen } = await launch(["--experiment", "04-redis"]);
      let flags = "";
      const { code, output } = await signalWhen(
        (answered) => answered.every(Boolean),
        "SIGTERM",
        async () => {
          flags = (await (await fetch(`http://127.0.0.1:${ports.course}/metrics`)).text())
            .split("\n")
            .find((line) => line.startsWith("lab_flags{")) as string;
          expect(await pingRedis(redisPort)).toBe(true);
          // the course service's cache is Redis: a second read of a page is a hit
          for (let read = 0; read < 2; read++) await fetch(`http://127.0.0.1:${ports.course}/courses?limit=5&offset=0`);
          const metrics = await (await fetch(`http://127.0.0.1:${ports.course}/metrics`)).text();
          expect(metrics).toMatch(/cache_requests_total\{[^}]*result="hit"[^}]*\} [1-9]/);
        },
      );
      expect(flags).toContain('CACHE="redis"');
      expect(flags).toContain('DB_VIA_PGBOUNCER="1"');
      expect(flags).toContain('SEARCH_INDEX="trgm"');
      expect(code).toBe(0);
      expect(output).toContain("experiment 04-redis: SEARCH_INDEX=trgm DB_POOL_MAX=20 DB_VIA_PGBOUNCER=1 CACHE=redis");
      expect(output).toContain(`Redis: cache for CACHE=redis, port ${redisPort}`);
      expect(await answering()).toEqual(Object.values(ports).map(() => false));
      expect(await pingRedis(redisPort)).toBe(false);
    },
    START_TIMEOUT_MS * 2,
  );
});
