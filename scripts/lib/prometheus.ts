import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type ExportedParts, startExporters } from "./exporters";
import { assertPortFree, type Stack } from "./stack";

/** What the platform exposes to Prometheus: one scrape job per service (and the web app), named after it. */
export type ScrapeTargets = Record<string, string>;

export const PROMETHEUS_PORT = 9090;
/** Short enough that a 30-second load run leaves a dozen points per series. */
export const SCRAPE_INTERVAL = "2s";

export const INSTALL_HINT =
  "prometheus is not on PATH: install it with `sudo apt-get install prometheus` (Debian/Ubuntu) " +
  "or put the binary from prometheus.io/download on PATH";

/** A Prometheus configuration scraping `/metrics` of each target (`host:port`). */
export function scrapeConfig(targets: ScrapeTargets, interval = SCRAPE_INTERVAL): string {
  const jobs = Object.entries(targets).map(
    ([job, target]) => `  - job_name: ${job}\n    static_configs:\n      - targets: ["${target}"]\n`,
  );
  return `global:\n  scrape_interval: ${interval}\n  evaluation_interval: ${interval}\nscrape_configs:\n${jobs.join("")}`;
}

/** `http://127.0.0.1:8001` → `127.0.0.1:8001`, the form a static scrape target takes. */
export const targetOf = (url: string) => new URL(url).host;

export type PrometheusServer = { url: string; stop: () => Promise<void> };

const READY_TIMEOUT_MS = 20_000;

/**
 * Starts Debian's (or any) `prometheus` binary on 127.0.0.1:`port` with `configFile`, keeping its
 * TSDB under `dataDir`, and waits until it reports ready. Throws with an install hint when missing.
 */
export async function startPrometheus(options: {
  configFile: string;
  dataDir: string;
  port: number;
  logFile?: string;
}): Promise<PrometheusServer> {
  const binary = Bun.which("prometheus");
  if (!binary) throw new Error(INSTALL_HINT);
  await mkdir(options.dataDir, { recursive: true });
  const output = Bun.file(options.logFile ?? join(options.dataDir, "prometheus.log"));
  const child = Bun.spawn(
    [
      binary,
      `--config.file=${options.configFile}`,
      `--storage.tsdb.path=${options.dataDir}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      "--storage.tsdb.retention.time=15d",
      "--log.level=warn",
    ],
    { stdout: output, stderr: output },
  );
  const url = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    child.kill("SIGTERM");
    await child.exited;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`prometheus exited with code ${child.exitCode} while starting (log: ${output.name})`);
    }
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok) return { url, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready after ${READY_TIMEOUT_MS / 1000} s (log: ${output.name})`);
    }
    await Bun.sleep(100);
  }
}

/** The Prometheus of `bun run start --prometheus`: where it listens (PROMETHEUS_PORT) and the URL the web app reads. */
export const localPrometheusUrl = () => `http://127.0.0.1:${Number(process.env.PROMETHEUS_PORT) || PROMETHEUS_PORT}`;

/**
 * Starts Prometheus for the running stack with grafana/prometheus.local.yml (data in .data/prometheus),
 * and the exporters of the parts that run (scripts/lib/exporters.ts), which it scrapes and stops with
 * itself. When the stack or an exporter runs on other ports than that file names, a config for the
 * actual ports is written to .data/ instead. Without a `prometheus` binary it says how to install one
 * and returns undefined.
 */
export async function startLabPrometheus(
  root: string,
  stack: Pick<Stack, "urls"> & ExportedParts,
  say: (line: string) => void,
): Promise<PrometheusServer | undefined> {
  if (!Bun.which("prometheus")) {
    say(`${INSTALL_HINT}; continuing without it`);
    return undefined;
  }
  const url = localPrometheusUrl();
  assertPortFree("127.0.0.1", Number(new URL(url).port), "prometheus");
  const exporters = await startExporters(stack, { say });
  const targets = {
    ...Object.fromEntries(
      Object.entries(stack.urls).flatMap(([job, url]) => (url ? [[job, targetOf(url)] as const] : [])),
    ),
    ...exporters.targets,
  };
  const defaults = join(root, "grafana/prometheus.local.yml");
  const listed = Bun.YAML.parse(await Bun.file(defaults).text()) as {
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  const configured = new Map(listed.scrape_configs.map((job) => [job.job_name, job.static_configs[0]?.targets[0]]));
  let configFile = defaults;
  if (Object.entries(targets).some(([job, target]) => configured.get(job) !== target)) {
    configFile = join(root, ".data/prometheus.yml");
    await Bun.write(configFile, scrapeConfig(targets));
  }
  const server = await startPrometheus({
    configFile,
    dataDir: join(root, ".data/prometheus"),
    port: Number(new URL(url).port),
  }).catch(async (error) => {
    await exporters.stop();
    throw error;
  });
  say(`${"prometheus".padEnd(13)} ${url}   (config ${configFile.slice(root.length + 1)}, data .data/prometheus)`);
  return { url, stop: async () => void (await Promise.all([server.stop(), exporters.stop()])) };
}
