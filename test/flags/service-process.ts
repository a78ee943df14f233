import { join } from "node:path";
import type { ServiceName } from "@lab/shared";
import { freePort } from "../../scripts/lib/postgres";
import { spawnCollecting, stopProcess } from "../../scripts/lib/process";

const ROOT = join(import.meta.dir, "../..");
const READY_TIMEOUT_MS = 30_000;

export type ServiceProcess = { url: string; port: number; process: Bun.Subprocess; output: () => string };

/**
 * A service (or the web app) started as `bun services/<name>/src/index.ts` would be by the launcher,
 * on a free port; `wrapper` is a command that runs it (its arguments follow), e.g. in a namespace.
 */
export async function spawnService(
  name: ServiceName | "web",
  env: Record<string, string>,
  options: { wrapper?: string[] } = {},
): Promise<ServiceProcess> {
  const port = freePort();
  const entry = name === "web" ? join(ROOT, "web-htmx/src/index.ts") : join(ROOT, "services", name, "src/index.ts");
  const { child, output } = spawnCollecting([...(options.wrapper ?? []), "bun", entry], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", HOST: "127.0.0.1", PORT: String(port), ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not become ready (exit ${child.exitCode}):\n${output()}`);
    }
    try {
      if ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  return { url, port, process: child, output };
}

/** SIGTERM, then the exit code (SIGKILL after a grace period, which fails the caller's expectation of 0). */
export const stopService = (service: ServiceProcess) => stopProcess(service.process, 15_000);

/** A request on a connection of its own: reusePort spreads connections, not requests. */
export const freshFetch = (url: string) => fetch(url, { keepalive: false, headers: { connection: "close" } });

/** The sum of a metric's samples in Prometheus text whose labels include all of `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const set = match[2] ?? "";
    if (Object.entries(labels).every(([key, value]) => set.includes(`${key}="${value}"`))) sum += Number(match[3]);
  }
  return sum;
}
