import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, EnvSchema, parseEnv } from "@lab/shared";
import { pathPattern } from "./doc-check";

export const ROOT = join(import.meta.dir, "../..");

/** Not part of the repository's content: dependencies, git, local data, scratch and test output. */
const SKIPPED = new Set(["node_modules", ".git", ".data", ".tmp", "test-results"]);

/** Every file and folder of the repository, relative to its root; folders end in `/`. */
export function repoIndex(root = ROOT): string[] {
  const found: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name)) continue;
      const path = `${prefix}${entry.name}`;
      if (entry.isDirectory()) {
        found.push(`${path}/`);
        walk(join(dir, entry.name), `${path}/`);
      } else {
        found.push(path);
      }
    }
  };
  walk(root, "");
  return found;
}

/** Every file git tracks, relative to the root. */
export function trackedFiles(root = ROOT): string[] {
  const listed = Bun.spawnSync(["git", "ls-files", "-z"], { cwd: root });
  if (listed.exitCode !== 0) throw new Error(`git ls-files failed: ${listed.stderr.toString().trim()}`);
  return listed.stdout.toString().split("\0").filter(Boolean);
}

/** Whether a doc path (see pathPattern) matches an entry of the index; a trailing `/` asks for a folder. */
export function pathExistsIn(index: readonly string[]) {
  const all = new Set(index.map((path) => path.replace(/\/$/, "")));
  const folders = new Set(index.filter((path) => path.endsWith("/")).map((path) => path.slice(0, -1)));
  return (path: string): boolean => {
    const pool = path.endsWith("/") ? folders : all;
    const pattern = pathPattern(path);
    if (!/[*?[{]/.test(pattern)) return pool.has(pattern);
    const glob = new Bun.Glob(pattern);
    for (const candidate of pool) if (glob.match(candidate)) return true;
    // `**/name` includes `name` at the root
    return pattern.startsWith("**/") && pool.has(pattern.slice(3));
  };
}

export const envKeys: ReadonlySet<string> = new Set(Object.keys(EnvSchema.properties));

/** Why the services' own config parsing refuses `name=value`, or null when it accepts it. */
export function envValueProblem(name: string, value: string): string | null {
  // a production value is judged with a real secret beside it, as a production deployment has one
  const base = name === "JWT_SECRET" ? {} : { JWT_SECRET: "a-production-secret-of-more-than-32-characters" };
  try {
    parseEnv({ ...base, [name]: value }, 1);
    return null;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}
