import { readdirSync } from "node:fs";
import { join } from "node:path";
import { activeFlags, ConfigError, parseEnv } from "@lab/shared";
import { ROOT } from "../../lib/stack";

export const EXPERIMENTS_DIR = join(ROOT, "experiments");

export type Flags = ReturnType<typeof activeFlags>;
export type FlagName = keyof Flags;
/** The experiment flags of the contract, in the order the services report them. */
export const FLAG_NAMES = Object.keys(activeFlags(parseEnv({}, 1))) as FlagName[];

export type Experiment = { name: string; dir: string; flags: Flags };

export class FlagsError extends Error {}

/**
 * Parses a flags.env: `NAME=value` lines, `#` comments and blank lines. Every experiment flag must be
 * named (an experiment that relied on a default would silently change when the default does), nothing
 * else may be, and each value must pass the services' own config validation.
 */
export function parseFlags(text: string, source = "flags.env"): Flags {
  const values: Record<string, string> = {};
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const match = /^([A-Z_][A-Z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new FlagsError(`${source}:${index + 1}: expected NAME=value, got ${JSON.stringify(raw)}`);
    const [, name, value] = match as unknown as [string, string, string];
    if (!FLAG_NAMES.includes(name as FlagName)) {
      throw new FlagsError(`${source}:${index + 1}: ${name} is not an experiment flag (${FLAG_NAMES.join(", ")})`);
    }
    if (name in values) throw new FlagsError(`${source}:${index + 1}: ${name} is set twice`);
    values[name] = value.replace(/^(["'])(.*)\1$/, "$2");
  }
  const missing = FLAG_NAMES.filter((name) => !(name in values));
  if (missing.length) throw new FlagsError(`${source}: missing ${missing.join(", ")}`);
  try {
    return activeFlags(parseEnv(values, 1));
  } catch (error) {
    if (error instanceof ConfigError) throw new FlagsError(`${source}: ${error.message}`);
    throw error;
  }
}

/** The experiment folders (`NN-name` with a flags.env), in their numbered order. */
export function experimentNames(root = EXPERIMENTS_DIR): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d\d-/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

export async function loadExperiment(name: string, root = EXPERIMENTS_DIR): Promise<Experiment> {
  const dir = join(root, name);
  const file = Bun.file(join(dir, "flags.env"));
  if (!(await file.exists())) {
    throw new FlagsError(
      `no experiment "${name}": expected ${join(dir, "flags.env")} (have: ${experimentNames(root).join(", ")})`,
    );
  }
  return { name, dir, flags: parseFlags(await file.text(), `${name}/flags.env`) };
}

/** The flags whose value differs from `before` to `after`: what one experiment changes over the previous one. */
export function changedFlags(before: Flags, after: Flags): Partial<Flags> {
  return Object.fromEntries(
    FLAG_NAMES.filter((name) => before[name] !== after[name]).map((name) => [name, after[name]]),
  );
}
