import { readFileSync } from "node:fs";
import { CLOCK_TICKS, descendants, listProcesses, type ProcStat } from "../experiments/run/cpu";

/**
 * PostgreSQL's CPU as a Prometheus counter: every postmaster and all its processes (backends,
 * checkpointer, autovacuum…), utime + stime from /proc, the way the experiment runner measures its
 * `postgres` group. postgres_exporter cannot say it (PostgreSQL does not count CPU), and Debian's
 * process-exporter groups by name, while this follows the process tree, so the dashboard and the
 * experiments' reports use one definition.
 *
 * Runs inside `bun run start --prometheus` and, in compose.yaml, as its own container (with the
 * host's process list, `pid: host`): `bun scripts/lib/postgres-cpu-exporter.ts` serves on PORT.
 */
export const POSTGRES_CPU_METRIC = "lab_postgres_cpu_seconds_total";

/** The postmasters: `postgres` processes whose parent is not one, only those started with `-p <port>` when ports are given. */
function postmasters(processes: readonly ProcStat[], ports: readonly number[]): number[] {
  const names = new Map(processes.map((p) => [p.pid, p.name]));
  return processes
    .filter((p) => p.name === "postgres" && names.get(p.ppid) !== "postgres")
    .filter((p) => ports.length === 0 || ports.some((port) => startedOnPort(p.pid, port)))
    .map((p) => p.pid);
}

function startedOnPort(pid: number, port: number): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return args.some((arg, i) => (arg === "-p" && args[i + 1] === String(port)) || arg === `-p${port}`);
  } catch {
    return false; // gone
  }
}

/**
 * A counter that only grows: each process's ticks are added as they grow; a process that exits
 * keeps what was read at the last scrape (the time since then is lost, as in the runner).
 */
export function postgresCpuCounter(ports: readonly number[] = []) {
  let totalTicks = 0;
  let lastTicks = new Map<number, number>();
  return () => {
    const processes = listProcesses();
    const group = descendants(postmasters(processes, ports), processes);
    const seen = new Map<number, number>();
    for (const { pid, ticks } of processes) {
      if (!group.has(pid)) continue;
      totalTicks += ticks - (lastTicks.get(pid) ?? 0);
      seen.set(pid, ticks);
    }
    lastTicks = seen;
    return [
      `# HELP ${POSTGRES_CPU_METRIC} CPU time of the PostgreSQL servers' processes (user + system)`,
      `# TYPE ${POSTGRES_CPU_METRIC} counter`,
      `${POSTGRES_CPU_METRIC} ${totalTicks / CLOCK_TICKS}`,
      "# HELP lab_postgres_processes Processes of the PostgreSQL servers right now",
      "# TYPE lab_postgres_processes gauge",
      `lab_postgres_processes ${group.size}`,
      "",
    ].join("\n");
  };
}

/** Serves the counter's `/metrics` on `hostname`:`port`. */
export function servePostgresCpu(options: { port: number; hostname?: string; postgresPorts?: readonly number[] }) {
  const metrics = postgresCpuCounter(options.postgresPorts);
  const server = Bun.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port,
    fetch: (request) =>
      new URL(request.url).pathname === "/metrics"
        ? new Response(metrics(), { headers: { "content-type": "text/plain; version=0.0.4" } })
        : new Response("PostgreSQL CPU exporter: see /metrics\n", { status: 404 }),
  });
  return { port: server.port as number, stop: async () => void (await server.stop(true)) };
}

if (import.meta.main) {
  const port = Number(process.env.PORT ?? 9188);
  servePostgresCpu({ port, hostname: process.env.HOST ?? "0.0.0.0" });
  console.log(`PostgreSQL CPU exporter on :${port}/metrics`);
}
