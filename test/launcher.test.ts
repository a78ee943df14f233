/**
 * `bun run start` as a person or a process manager stops it: a signal to the launcher's pid alone,
 * during start-up or once it is running, leaves no service or web process behind. The launcher runs
 * against the test server's databases (*_DATABASE_URL), so it starts no PostgreSQL of its own.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { databaseUrlVar, SERVICE_NAMES } from "@lab/shared";
import { freePort } from "../scripts/lib/postgres";
import { ROOT } from "../scripts/lib/stack";
import { freshDatabase, waitUntil } from "./support";

const START_TIMEOUT_MS = 30_000;

async function launch() {
  const ports = Object.fromEntries([...SERVICE_NAMES, "web"].map((name) => [name, freePort()]));
  const env: Record<string, string> = { ...(process.env as Record<string, string>), LOG_LEVEL: "warn" };
  for (const name of SERVICE_NAMES) env[databaseUrlVar(name)] = await freshDatabase(`launcher_${name}`);
  for (const [name, port] of Object.entries(ports)) env[`${name.toUpperCase()}_PORT`] = String(port);
  const child = Bun.spawn(["bun", join(ROOT, "scripts/start.ts")], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
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
  /** Sends `signal` once `ready` holds for the processes answering; resolves with the launcher's exit code and stdout. */
  const signalWhen = async (ready: (answered: boolean[]) => boolean, signal: NodeJS.Signals) => {
    await waitUntil(async () => ready(await answering()), {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 25,
      failure: "the launcher's processes did not come up in time",
    });
    child.kill(signal);
    return { code: await child.exited, output: await new Response(child.stdout).text() };
  };
  return { urls, answering, signalWhen };
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
