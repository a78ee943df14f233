/**
 * `bun run start` as a person or a process manager stops it: a signal to the launcher's pid alone,
 * during start-up or once it is running, leaves no service or web process behind. The launcher runs
 * against the test server's databases (*_DATABASE_URL), so it starts no PostgreSQL of its own.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { SERVICE_NAMES } from "@lab/shared";
import { freePort } from "../scripts/lib/postgres";
import { ROOT } from "../scripts/lib/stack";
import { freshDatabase } from "./support";

const START_TIMEOUT_MS = 30_000;

async function launch() {
  const ports = Object.fromEntries([...SERVICE_NAMES, "web"].map((name) => [name, freePort()]));
  const env: Record<string, string> = { ...(process.env as Record<string, string>), LOG_LEVEL: "warn" };
  for (const name of SERVICE_NAMES) env[`${name.toUpperCase()}_DATABASE_URL`] = await freshDatabase(`launcher_${name}`);
  for (const [name, port] of Object.entries(ports)) env[`${name.toUpperCase()}_PORT`] = String(port);
  const child = Bun.spawn(["bun", join(ROOT, "scripts/start.ts")], { cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  return { child, urls: Object.values(ports).map((port) => `http://127.0.0.1:${port}/healthz`) };
}

const answers = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(500) }).then(
    () => true,
    () => false,
  );

async function waitUntil(condition: () => Promise<boolean>) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(25);
  }
}

describe("bun run start stops everything it started", () => {
  test(
    "SIGINT to the launcher alone while it is still starting",
    async () => {
      const { child, urls } = await launch();
      // the first process up is the moment the others are still starting
      await waitUntil(async () => (await Promise.all(urls.map(answers))).some(Boolean));
      child.kill("SIGINT");
      expect(await child.exited).toBe(0);
      expect(await Promise.all(urls.map(answers))).toEqual(urls.map(() => false));
    },
    START_TIMEOUT_MS * 2,
  );

  test(
    "SIGTERM to the launcher alone once it is running",
    async () => {
      const { child, urls } = await launch();
      await waitUntil(async () => (await Promise.all(urls.map(answers))).every(Boolean));
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      const output = await new Response(child.stdout).text();
      expect(output).toContain("stopped");
      expect(await Promise.all(urls.map(answers))).toEqual(urls.map(() => false));
    },
    START_TIMEOUT_MS * 2,
  );
});
