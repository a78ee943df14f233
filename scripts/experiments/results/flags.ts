import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { activeFlags, ConfigError, parseEnv } from "@lab/shared";
import { ROOT } from "../../lib/stack";

export const EXPERIMENTS_DIR = join(ROOT, "experiments");

export type Flags = ReturnType<typeof activeFlags>;
export type FlagName = keyof Flags;
/** The experiment flags of the contract, in the order the services report them. */
export const FLAG_NAMES = Object.keys(activeFlags(parseEnv({}, 1))) as FlagName[];

/**
 * A rung, or one of its variants: `dir` holds its results/. A variant runs the rung with some flags
 * changed, to tell apart what a rung changes together (03's pool size and PgBouncer) without adding a
 * rung to the ladder.
 */
export type Experiment = { name: string; dir: string; flags: Flags; variant?: string };

export class FlagsError extends Error {}

/**
 * Parses a flags.env: `NAME=value` lines, `#` comments and blank lines. Every experiment flag must be
 * named (an experiment that relied on a default would silently change when the default does), nothing
 * else may be, and each value must pass the services' own config validation.
 */
export function parseFlags(text: string, source = "flags.env"): Flags {
  const values = flagLines(text, source);
  const missing = FLAG_NAMES.filter((name) => !(name in values));
  if (missing.length) throw new FlagsError(`${source}: missing ${missing.join(", ")}`);
  return validFlags(values, source);
}

/**
 * A variant's flags.env: the flags it changes from its rung's, and only those (a flag set to the
 * rung's own value is refused: the variant would not be one); the result must pass the same validation.
 */
export function parseVariantFlags(text: string, rung: Flags, source = "flags.env"): Flags {
  const changes = flagLines(text, source);
  if (!Object.keys(changes).length) throw new FlagsError(`${source}: a variant changes at least one flag`);
  const same = Object.keys(changes).filter((name) => changes[name] === rung[name as FlagName]);
  if (same.length) throw new FlagsError(`${source}: ${same.join(", ")} is the rung's own value`);
  return validFlags({ ...rung, ...changes }, source);
}

function flagLines(text: string, source: string): Record<string, string> {
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
  return values;
}

function validFlags(values: Record<string, string>, source: string): Flags {
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

export async function loadExperiment(name: string, root = EXPERIMENTS_DIR, variant?: string): Promise<Experiment> {
  const dir = join(root, name);
  const file = Bun.file(join(dir, "flags.env"));
  if (!(await file.exists())) {
    throw new FlagsError(
      `no experiment "${name}": expected ${join(dir, "flags.env")} (have: ${experimentNames(root).join(", ")})`,
    );
  }
  const flags = parseFlags(await file.text(), `${name}/flags.env`);
  if (variant === undefined) return { name, dir, flags };
  const variantDir = experimentDir(name, variant, root);
  const variantFile = Bun.file(join(variantDir, "flags.env"));
  if (!(await variantFile.exists())) {
    const have = variantNames(dir);
    throw new FlagsError(
      `${name} has no variant "${variant}" (${have.length ? `have: ${have.join(", ")}` : `none in ${join(dir, VARIANTS_DIR)}`})`,
    );
  }
  const source = `${name}/${VARIANTS_DIR}/${variant}/flags.env`;
  return { name, dir: variantDir, variant, flags: parseVariantFlags(await variantFile.text(), flags, source) };
}

/** A rung's variants live in <rung>/variants/<variant>/, each with a flags.env of the flags it changes. */
export const VARIANTS_DIR = "variants";

/** The folder that holds an experiment's results/ (or its variant's). */
export const experimentDir = (name: string, variant?: string, root = EXPERIMENTS_DIR) =>
  variant === undefined ? join(root, name) : join(root, name, VARIANTS_DIR, variant);

export function variantNames(experimentDir: string): string[] {
  try {
    return readdirSync(join(experimentDir, VARIANTS_DIR), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(experimentDir, VARIANTS_DIR, entry.name, "flags.env")))
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

/** The flags whose value differs from `before` to `after`: what one experiment changes over the previous one. */
export function changedFlags(before: Flags, after: Flags): Partial<Flags> {
  return Object.fromEntries(
    FLAG_NAMES.filter((name) => before[name] !== after[name]).map((name) => [name, after[name]]),
  );
}
