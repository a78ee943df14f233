import { join } from "node:path";
import type { ServiceName } from "@lab/shared";
import { freePort } from "../../scripts/lib/postgres";

const ROOT = join(import.meta.dir, "../..");
const READY_TIMEOUT_MS = 30_000;

export type ServiceProcess = { url: string; port: number; process: Bun.Subprocess; output: () => string };

/** A service started as `bun services/<name>/src/index.ts` would be by the launcher, on a free port. */
export async function spawnService(name: ServiceName, env: Record<string, string>): Promise<ServiceProcess> {
  const port = freePort();
  const child = Bun.spawn(["bun", join(ROOT, "services", name, "src/index.ts")], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", HOST: "127.0.0.1", PORT: String(port), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const chunks: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) chunks.push(decoder.decode(chunk, { stream: true }));
  };
  void collect(child.stdout);
  void collect(child.stderr);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not become ready (exit ${child.exitCode}):\n${chunks.join("")}`);
    }
    try {
      if ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  return { url, port, process: child, output: () => chunks.join("") };
}

/** SIGTERM, then the exit code (SIGKILL after a grace period, which fails the caller's expectation of 0). */
export async function stopService(service: ServiceProcess): Promise<number> {
  service.process.kill("SIGTERM");
  const killer = setTimeout(() => service.process.kill("SIGKILL"), 15_000);
  const code = await service.process.exited;
  clearTimeout(killer);
  return code;
}

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
