import { servePgBouncerMetrics } from "./pgbouncer-exporter";
import { freePort } from "./postgres";
import { servePostgresCpu } from "./postgres-cpu-exporter";
import { spawnCollecting, stopProcess } from "./process";
import { assertPortFree, type Stack } from "./stack";

/**
 * Where each exporter listens by default (the first three are their projects' own defaults), also
 * the targets grafana/prometheus.local.yml names. A port in use is swapped for a free one.
 */
export const EXPORTER_PORTS = { postgres: 9187, pgbouncer: 9127, redis: 9121, "postgres-cpu": 9188 } as const;
export type ExporterName = keyof typeof EXPORTER_PORTS;

/** The parts of a running stack that have exporters. */
export type ExportedParts = Pick<Stack, "databaseUrls" | "embedded" | "pgbouncer" | "redis">;

export type Exporters = {
  /** `host:port` of each exporter that runs, by scrape job name. */
  targets: Partial<Record<ExporterName, string>>;
  stop: () => Promise<void>;
};

/** Debian's exporter programs, by the name their packages install (upstream's tarball name second). */
const PROGRAMS = {
  postgres: ["prometheus-postgres-exporter", "postgres_exporter"],
  redis: ["prometheus-redis-exporter", "redis_exporter"],
} as const;

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

/** The program for `name` on PATH, or undefined. */
const program = (name: keyof typeof PROGRAMS) =>
  PROGRAMS[name].map((binary) => Bun.which(binary)).find((path) => path !== null) ?? undefined;

const installHint = (name: keyof typeof PROGRAMS) =>
  `${PROGRAMS[name][0]} is not installed: apt-get install ${PROGRAMS[name][0]} (Debian/Ubuntu); continuing without it`;

function portFor(name: ExporterName, chosen?: number): number {
  if (chosen) return chosen;
  try {
    assertPortFree("127.0.0.1", EXPORTER_PORTS[name], name);
    return EXPORTER_PORTS[name];
  } catch {
    return freePort();
  }
}

/** postgres_exporter's data sources: each server once (lib/pq wants sslmode spelt out for a local one). */
export function postgresDataSources(parts: Pick<ExportedParts, "databaseUrls" | "embedded">): string {
  const servers = new Map<string, URL>();
  for (const url of Object.values(parts.databaseUrls)) {
    const parsed = new URL(url);
    if (parts.embedded) parsed.pathname = "/postgres";
    if (!parsed.searchParams.has("sslmode") && ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname)) {
      parsed.searchParams.set("sslmode", "disable");
    }
    servers.set(parsed.host, parsed);
  }
  return [...servers.values()].map(String).join(",");
}

async function waitForMetrics(url: string, child: Bun.Subprocess, output: () => string) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}: ${output().trim()}`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no metrics after ${READY_TIMEOUT_MS / 1000} s: ${output().trim()}`);
    await Bun.sleep(100);
  }
}

/**
 * Starts an exporter for each part of the stack that runs: PostgreSQL (postgres_exporter, and its
 * CPU from /proc when the server is the embedded one, on this machine), PgBouncer with
 * DB_VIA_PGBOUNCER=1, Redis when the stack started one. A missing program or one that fails is
 * said and left out; the rest still run.
 */
export async function startExporters(
  parts: ExportedParts,
  options: { say: (line: string) => void; ports?: Partial<Record<ExporterName, number>> },
): Promise<Exporters> {
  const targets: Exporters["targets"] = {};
  const stops: (() => Promise<unknown>)[] = [];
  const spawnExporter = async (name: keyof typeof PROGRAMS, args: (port: number) => string[], env = {}) => {
    const binary = program(name);
    if (!binary) return options.say(installHint(name));
    const port = portFor(name, options.ports?.[name]);
    const { child, output } = spawnCollecting([binary, ...args(port)], { env: { ...process.env, ...env } });
    try {
      await waitForMetrics(`http://127.0.0.1:${port}/metrics`, child, output);
    } catch (error) {
      child.kill("SIGKILL");
      return options.say(`${name} exporter did not start: ${error instanceof Error ? error.message : error}`);
    }
    targets[name] = `127.0.0.1:${port}`;
    stops.push(() => stopProcess(child, STOP_GRACE_MS));
  };

  await spawnExporter(
    "postgres",
    (port) => [
      `--web.listen-address=127.0.0.1:${port}`,
      // PostgreSQL 17 moved the checkpoint counters out of pg_stat_bgwriter, which 0.11 still reads.
      "--no-collector.bgwriter",
      "--disable-settings-metrics",
      "--log.level=warn",
    ],
    { DATA_SOURCE_NAME: postgresDataSources(parts) },
  );
  if (parts.embedded) {
    const postgresPort = Number(new URL(Object.values(parts.databaseUrls)[0] ?? "postgres://x").port);
    const exporter = servePostgresCpu({
      port: portFor("postgres-cpu", options.ports?.["postgres-cpu"]),
      postgresPorts: [postgresPort],
    });
    targets["postgres-cpu"] = `127.0.0.1:${exporter.port}`;
    stops.push(exporter.stop);
  }
  if (parts.pgbouncer) {
    const exporter = servePgBouncerMetrics(parts.pgbouncer.adminUrl, portFor("pgbouncer", options.ports?.pgbouncer));
    targets.pgbouncer = `127.0.0.1:${exporter.port}`;
    stops.push(exporter.stop);
  }
  if (parts.redis) {
    const redisUrl = parts.redis.url;
    await spawnExporter("redis", (port) => [
      "-web.listen-address",
      `127.0.0.1:${port}`,
      "-redis.addr",
      redisUrl,
      "-redis-only-metrics",
    ]);
  }
  const running = Object.entries(targets).map(([name, target]) => `${name} ${target}`);
  if (running.length) options.say(`${"exporters".padEnd(13)} ${running.join(", ")}`);
  return { targets, stop: async () => void (await Promise.all(stops.map((stop) => stop()))) };
}
