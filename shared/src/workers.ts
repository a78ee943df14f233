import { AggregatorRegistry, Gauge } from "prom-client";
import { log } from "./log";
import type { Metrics } from "./metrics";

/**
 * WORKERS=N runs N processes of a service on one port (Bun.serve `reusePort`; the Linux kernel
 * spreads new connections across them). The first process is the primary: it migrates and
 * prepares once, spawns the workers (the same entry with this variable set), forwards
 * SIGTERM/SIGINT and exits when they have exited. It serves nothing itself.
 */
export const WORKER_ENV = "LAB_WORKER_INDEX";

/** This process's worker number, or null for the primary (and for a single-process service). */
export function workerIndex(): number | null {
  const value = process.env[WORKER_ENV];
  return value === undefined || value === "" ? null : Number(value);
}

type WorkerMessage = { type: "metrics-port"; port: number } | { type: "siblings"; ports: number[] };

/** Spawns `count` workers and supervises them; resolves with the exit code the primary should exit with. */
export async function superviseWorkers(count: number): Promise<number> {
  const metricsPorts = new Map<number, number>();
  const children: Bun.Subprocess[] = [];
  const announce = () => {
    const message: WorkerMessage = { type: "siblings", ports: [...metricsPorts.values()] };
    for (const child of children) if (child.exitCode === null) child.send(message);
  };
  for (let index = 0; index < count; index++) {
    const child = Bun.spawn([process.execPath, ...process.argv.slice(1)], {
      env: { ...process.env, [WORKER_ENV]: String(index) },
      stdio: ["inherit", "inherit", "inherit"],
      ipc(message: WorkerMessage) {
        if (message.type !== "metrics-port") return;
        metricsPorts.set(index, message.port);
        if (metricsPorts.size === count) announce();
      },
    });
    children.push(child);
  }
  log("info", "workers started", { primary: process.pid, workers: children.map((child) => child.pid) });

  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const child of children) if (child.exitCode === null) child.kill(signal);
  };
  process.on("SIGTERM", () => stopAll("SIGTERM"));
  process.on("SIGINT", () => stopAll("SIGINT"));

  // A worker that dies on its own takes the service down as a single process would: loudly.
  const first = await Promise.race(children.map((child, index) => child.exited.then((code) => ({ index, code }))));
  if (!stopping) {
    log("error", "worker exited; stopping the others", { worker: first.index, code: first.code });
    stopAll("SIGTERM");
  }
  const codes = await Promise.all(children.map((child) => child.exited));
  return stopping ? Math.max(0, ...codes) : first.code || 1;
}

const SIBLING_TIMEOUT_MS = 1_000;

/**
 * Makes this worker's GET /metrics answer for the whole service. Every worker serves its own
 * registry as JSON on a private 127.0.0.1 port; the primary tells each worker its siblings'
 * ports; a scrape of any worker fetches the siblings' registries and merges them with
 * prom-client's AggregatorRegistry.aggregate. Each metric is merged by its `aggregator`
 * (default: sum): request counters, histograms, in-flight requests, the pool gauges and the
 * process CPU/memory are summed over the workers; lab_flags and version info take the first
 * worker's value; event-loop lag is averaged (its min/max taken); process_start_time is left
 * out. lab_processes says how many processes a scrape merged.
 */
export function joinWorkerGroup(metrics: Metrics) {
  const own = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async () => Response.json(await metrics.registry.getMetricsAsJSON()),
  });
  const ownPort = own.port!;
  let siblings: number[] = [];
  process.on("message", (message: WorkerMessage) => {
    if (message.type === "siblings") siblings = message.ports.filter((port) => port !== ownPort);
  });
  process.send?.({ type: "metrics-port", port: ownPort } satisfies WorkerMessage);
  // The primary is gone (killed without forwarding a signal): do not keep holding the port.
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));

  metrics.expose = async () => {
    const registries = await Promise.all([
      metrics.registry.getMetricsAsJSON(),
      ...siblings.map((port) => siblingMetrics(port)),
    ]);
    return AggregatorRegistry.aggregate(registries.filter((r) => r !== null)).metrics();
  };
  return { close: () => own.stop(true) };
}

async function siblingMetrics(port: number): Promise<object[] | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(SIBLING_TIMEOUT_MS) });
    return (await response.json()) as object[];
  } catch (error) {
    log("warn", "a sibling worker's metrics are missing from this scrape", { port, error: String(error) });
    return null;
  }
}

/** 1 per process; summed by the aggregation, so a scrape shows how many processes it covers. */
export function countProcess(metrics: Metrics) {
  new Gauge({
    name: "lab_processes",
    help: "Processes whose metrics this scrape covers (WORKERS>1 merges every worker of the service)",
    registers: [metrics.registry],
  }).set(1);
}
