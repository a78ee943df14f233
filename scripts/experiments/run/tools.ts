import type { Flags } from "../results/flags";

/** A program the runner starts from PATH, and the Debian package that has it. */
export type Tool = { program: string; pkg: string; why: string };

/** The programs an experiment with these flags needs: Locust always, the others when a flag asks for them. */
export function requiredTools(flags: Flags): Tool[] {
  const tools: Tool[] = [{ program: "locust", pkg: "python3-locust", why: "generates the load" }];
  if (flags.DB_VIA_PGBOUNCER === "1") {
    tools.push({ program: "pgbouncer", pkg: "pgbouncer", why: "DB_VIA_PGBOUNCER=1 pools connections through it" });
  }
  if (flags.CACHE === "redis") tools.push({ program: "redis-server", pkg: "redis-server", why: "CACHE=redis" });
  return tools;
}

/** Debian puts pgbouncer in /usr/sbin, which is not on every user's PATH. */
const SEARCH_PATH = `${process.env.PATH ?? ""}:/usr/sbin:/usr/bin`;

export const findTool = (program: string) => Bun.which(program, { PATH: SEARCH_PATH });

export class MissingToolsError extends Error {}

/** Throws one message naming every missing program and the apt-get line that installs them. */
export function assertTools(tools: readonly Tool[], find: (program: string) => string | null = findTool) {
  const missing = tools.filter((tool) => !find(tool.program));
  if (!missing.length) return;
  const lines = missing.map((tool) => `  ${tool.program} (${tool.why})`);
  throw new MissingToolsError(
    [
      `missing ${missing.length === 1 ? "a program" : "programs"} this experiment needs:`,
      ...lines,
      `install with: apt-get install ${[...new Set(missing.map((tool) => tool.pkg))].join(" ")}`,
    ].join("\n"),
  );
}
