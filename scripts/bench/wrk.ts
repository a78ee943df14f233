import { runCommand } from "../lib/process";

/** One wrk run against one URL, read back as requests per second; any non-2xx answer fails it. */
export type WrkOptions = { seconds: number; connections: number; threads: number };

export class WrkMissingError extends Error {}

export function wrkBinary(): string {
  const binary = Bun.which("wrk");
  if (!binary) throw new WrkMissingError("wrk is not installed: apt-get install wrk (Debian/Ubuntu)");
  return binary;
}

/** Requests per second and in all, non-2xx answers and socket errors (connect, read, write, timeout) from wrk's summary. */
export type WrkResult = { requestsPerSecond: number; requests: number; non2xx: number; socketErrors: number };

export function parseWrk(output: string): WrkResult {
  const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  if (!rate?.[1]) throw new Error(`wrk printed no Requests/sec line:\n${output.trim()}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0;
  const requests = Number(/^\s*(\d+) requests in/m.exec(output)?.[1] ?? 0);
  return { requestsPerSecond: Number(rate[1]), requests, non2xx, socketErrors };
}

/** Runs wrk for `seconds`; gives up (SIGKILL) if it has not finished 15 s after that. */
export async function runWrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const { stdout, stderr, code } = await runCommand(
    [
      wrkBinary(),
      `--threads=${options.threads}`,
      `--connections=${options.connections}`,
      `--duration=${options.seconds}s`,
      "--timeout=2s",
      url,
    ],
    { killAfterMs: (options.seconds + 15) * 1000 },
  );
  if (code !== 0) throw new Error(`wrk exited with ${code} against ${url}:\n${(stdout + stderr).trim()}`);
  const result = parseWrk(stdout);
  if (result.non2xx > 0) throw new Error(`wrk got ${result.non2xx} answers other than 2xx from ${url}`);
  return result;
}
