/** A child process whose stdout and stderr are kept (and optionally passed on line by line) for error messages. */
export type CollectedProcess = { child: Bun.Subprocess<"ignore", "pipe", "pipe">; output: () => string };

export function spawnCollecting(
  command: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; log?: (text: string) => void } = {},
): CollectedProcess {
  const child = Bun.spawn(command, { cwd: options.cwd, env: options.env, stdout: "pipe", stderr: "pipe" });
  const chunks: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      chunks.push(text);
      options.log?.(text.trimEnd());
    }
  };
  void collect(child.stdout);
  void collect(child.stderr);
  return { child, output: () => chunks.join("") };
}

/** What a finished command wrote and its exit code. */
export type CommandResult = { stdout: string; stderr: string; code: number };

/** Runs `command` to its end with stdout and stderr collected; SIGKILLs it after `killAfterMs` if given. */
export async function runCommand(
  command: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; killAfterMs?: number } = {},
): Promise<CommandResult> {
  const child = Bun.spawn(command, { cwd: options.cwd, env: options.env, stdout: "pipe", stderr: "pipe" });
  const killer =
    options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.killAfterMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(killer);
  return { stdout, stderr, code };
}

/** SIGTERM, SIGKILL if it is still running after `graceMs`; resolves with the exit code. */
export async function stopProcess(child: Bun.Subprocess, graceMs: number): Promise<number> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  const code = await child.exited;
  clearTimeout(killer);
  return code;
}
