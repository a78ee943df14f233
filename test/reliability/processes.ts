import { join } from "node:path";
import { freePort } from "../../scripts/lib/postgres";
import { ROOT } from "../../scripts/lib/stack";

const READY_TIMEOUT_MS = 30_000;

export type ServiceProcess = {
  url: string;
  port: number;
  child: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the process wrote to stdout and stderr so far. */
  output: () => string;
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number>;
};

/** A service as its own process, as `bun run start` runs it, with its output collected; resolves once /readyz is 200. */
export async function spawnService(
  service: string,
  env: Record<string, string>,
  port = freePort(),
): Promise<ServiceProcess> {
  const child = Bun.spawn(["bun", join(ROOT, "services", service, "src/index.ts")], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const chunks: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) chunks.push(decoder.decode(chunk, { stream: true }));
  };
  const collected = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${service} exited while starting:\n${chunks.join("")}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${service} was not ready in time:\n${chunks.join("")}`);
    }
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    await Bun.sleep(100);
  }
  return {
    url,
    port,
    child,
    output: () => chunks.join(""),
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      const code = await child.exited;
      await collected;
      return code;
    },
  };
}

/** True while a process with this pid exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to a process this test did not spawn and waits until it is gone. */
export async function killAndWait(pid: number, signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000) {
  process.kill(pid, signal);
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exit within ${timeoutMs} ms of ${signal}`);
    await Bun.sleep(50);
  }
}
