import { readdirSync, readFileSync } from "node:fs";

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

/** The processes below `pid` (children, their children…), read from /proc; deepest last. */
export function descendants(pid: number = process.pid): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // the parent is the 2nd field after the command, which may itself hold spaces and parentheses
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const child of parents.get(parent) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
};

/** SIGTERM to every process below this one, SIGKILL to what still runs after `graceMs`. */
export async function stopDescendants(graceMs = 5_000): Promise<void> {
  const pids = descendants();
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await Bun.sleep(50);
  for (const pid of [...pids, ...descendants()].filter(alive)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * A command that could not start ends here: one line on stderr, whatever it had started stopped
 * (PostgreSQL, Redis, services…), exit code 1. Never returns, however the stopping goes.
 */
export async function failStart(tag: string, error: unknown): Promise<never> {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split("\n").find((part) => part.trim()) ?? "unknown error";
  console.error(`[${tag}] could not start: ${line.trim()}`);
  // a stop that hangs must not keep the command alive
  setTimeout(() => process.exit(1), 15_000).unref();
  await stopDescendants().catch(() => {});
  process.exit(1);
}

/**
 * A long command stopped from outside (SIGINT from a `kill`, not only Ctrl-C at a terminal, which
 * reaches the children itself; SIGTERM) stops everything it started before it exits 130.
 */
export function stopChildrenOnSignal(tag: string) {
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.on(signal, () => {
      console.error(`[${tag}] ${signal}: stopping what it started`);
      setTimeout(() => process.exit(130), 15_000).unref();
      void stopDescendants().finally(() => process.exit(130));
    });
}
