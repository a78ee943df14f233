import { readFileSync } from "node:fs";
import os from "node:os";
import { SQL } from "bun";
import type { Machine } from "../results/format";

const firstLine = (command: string[]) => {
  try {
    // Outside the project: Locust would import the locustfile of its working directory.
    const result = Bun.spawnSync(command, { cwd: os.tmpdir(), stderr: "pipe" });
    return `${result.stdout.toString()}${result.stderr.toString()}`.trim().split("\n")[0]?.trim() ?? "";
  } catch {
    return "";
  }
};

/** Locust's own version; Debian's python3-locust reports an empty one, so its package version stands in. */
export function locustVersion(): string {
  const reported = firstLine(["locust", "--version"])
    .replace(/^locust\s*/i, "")
    .trim();
  if (reported) return reported;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const packaged = firstLine(["dpkg-query", "-W", "-f", "${Version}", "python3-locust"]);
  return packaged ? `${packaged} (Debian python3-locust)` : "unknown";
}

/** The Python that runs Locust: the interpreter named on the `locust` script's first line. */
function locustInterpreter(): string {
  const script = Bun.which("locust");
  const shebang = script ? readFileSync(script, "utf8").split("\n")[0] : undefined;
  if (!shebang?.startsWith("#!")) return "python3";
  const [program, argument] = shebang.slice(2).trim().split(/\s+/);
  return (program?.endsWith("/env") ? argument : program) ?? "python3";
}

export async function describeMachine(postgresUrl: string): Promise<Machine> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  const sql = new SQL({ url: postgresUrl, max: 1 });
  let postgres: string;
  try {
    const [row] = await sql`SELECT version() AS version`;
    postgres = String(row.version).split(",")[0] ?? "unknown";
  } finally {
    await sql.close();
  }
  return {
    cpu_model: model,
    cores: os.availableParallelism(),
    memory_bytes: os.totalmem(),
    os: `${os.type()} ${os.release()}`,
    bun: Bun.version,
    postgres,
    locust: locustVersion(),
    python: firstLine([locustInterpreter(), "--version"]).replace(/^Python\s*/, ""),
  };
}
