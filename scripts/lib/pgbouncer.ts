import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./postgres";
import { spawnCollecting, stopProcess } from "./process";

export type PgBouncerOptions = {
  /** Where the ini, userlist, log and pid file go (created if missing). */
  dir: string;
  /** The databases to put behind PgBouncer, by any name: their URLs are rewritten, names kept. */
  databases: Record<string, string>;
  port?: number;
  /** Server connections per database and user (PgBouncer's default_pool_size). */
  poolSize?: number;
  /** The system user PgBouncer runs as when started by root (it refuses to run as root). */
  runAs?: string;
  log?: (line: string) => void;
};

export type PgBouncer = {
  port: number;
  /** The same keys as `databases`, each URL now pointing at PgBouncer. */
  urls: Record<string, string>;
  /** PgBouncer's admin console (SHOW POOLS, SHOW CLIENTS…), for the first user of `databases`. */
  adminUrl: string;
  pid: number;
  stop: () => Promise<void>;
};

export class PgBouncerMissingError extends Error {}

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

/** `pgbouncer` from PATH (it lives in /usr/sbin on Debian), or an error that says how to install it. */
export function pgbouncerBinary(): string {
  const binary = Bun.which("pgbouncer") ?? Bun.which("pgbouncer", { PATH: "/usr/sbin:/usr/local/sbin" });
  if (!binary) throw new PgBouncerMissingError("pgbouncer is not installed: apt-get install pgbouncer (Debian/Ubuntu)");
  return binary;
}

type Target = { alias: string; host: string; port: string; database: string; user: string; password: string };

function target(url: string): Target {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (!database || !parsed.username) throw new Error(`pgbouncer: ${url} names no database or user`);
  return {
    alias: database,
    host: parsed.hostname,
    port: parsed.port || "5432",
    database,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

/** PgBouncer quotes userlist fields in double quotes, doubling any inside. */
const quoted = (value: string) => `"${value.replaceAll('"', '""')}"`;

/**
 * Debian's PgBouncer in transaction pooling mode in front of the given databases: a client holds
 * a server connection only for the length of a transaction, so many pool connections of many
 * processes share a few server connections. Prepared statements do not survive that (a statement
 * may meet another server connection), so clients behind it use `prepare: false`; migrations
 * need a session (advisory lock) and go to the database directly (DIRECT_DATABASE_URL).
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  const port = options.port ?? freePort();
  const targets = Object.entries(options.databases).map(([key, url]) => [key, target(url)] as const);
  const [firstKey] = targets[0] ?? [];
  if (firstKey === undefined) throw new Error("pgbouncer: no databases given");
  const servers = new Map<string, Target>();
  for (const [, t] of targets) {
    const seen = servers.get(t.alias);
    if (seen && (seen.host !== t.host || seen.port !== t.port)) {
      throw new Error(`pgbouncer: two databases named ${t.alias} on different servers cannot share one PgBouncer`);
    }
    servers.set(t.alias, t);
  }
  const users = new Map(targets.map(([, t]) => [t.user, t.password]));

  await mkdir(options.dir, { recursive: true });
  const ini = join(options.dir, "pgbouncer.ini");
  const userlist = join(options.dir, "userlist.txt");
  const logfile = join(options.dir, "pgbouncer.log");
  const databaseLines = [...servers.values()].map(
    (t) => `${t.alias} = host=${t.host} port=${t.port} dbname=${t.database}`,
  );
  await writeFile(
    ini,
    [
      "[databases]",
      ...databaseLines,
      "",
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = scram-sha-256",
      `auth_file = ${userlist}`,
      `admin_users = ${[...users.keys()].join(", ")}`,
      "pool_mode = transaction",
      `default_pool_size = ${options.poolSize ?? 20}`,
      "max_client_conn = 2000",
      // Drivers send these at startup; PgBouncer would otherwise refuse the connection.
      "ignore_startup_parameters = extra_float_digits, options",
      `logfile = ${logfile}`,
      `pidfile = ${join(options.dir, "pgbouncer.pid")}`,
      "log_connections = 0",
      "log_disconnections = 0",
      "",
    ].join("\n"),
  );
  await writeFile(
    userlist,
    `${[...users].map(([user, password]) => `${quoted(user)} ${quoted(password)}`).join("\n")}\n`,
  );
  await chmod(userlist, 0o600);

  const command = [binary];
  if (process.getuid?.() === 0) {
    const runAs = options.runAs ?? "postgres";
    const account = await systemUser(runAs);
    for (const file of [options.dir, ini, userlist]) await chown(file, account.uid, account.gid);
    command.push("-u", runAs);
  }
  command.push(ini);
  const { child, output } = spawnCollecting(command, { log: options.log });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      const logged = await Bun.file(logfile)
        .text()
        .catch(() => "");
      throw new Error(`pgbouncer on port ${port} did not start:\n${output()}${logged}`.trim());
    }
    await Bun.sleep(50);
  }

  const rewrite = (url: string) => {
    const parsed = new URL(url);
    parsed.hostname = "127.0.0.1";
    parsed.port = String(port);
    return parsed.toString();
  };
  const stop = async () => {
    await stopProcess(child, STOP_GRACE_MS);
  };
  const admin = new URL(rewrite(options.databases[firstKey] as string));
  admin.pathname = "/pgbouncer";
  return {
    port,
    urls: Object.fromEntries(Object.entries(options.databases).map(([key, url]) => [key, rewrite(url)])),
    adminUrl: admin.toString(),
    pid: child.pid,
    stop,
  };
}

async function systemUser(name: string) {
  const line = (await Bun.file("/etc/passwd").text()).split("\n").find((l) => l.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (!uid || !gid) {
    throw new Error(
      `pgbouncer refuses to run as root and there is no '${name}' user to run it as: create one (useradd -r ${name})`,
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

async function accepts(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}
