import { type ParseArgsOptionsConfig, parseArgs } from "node:util";

/** A command line's shape: what `--help` prints and which flags and arguments it takes. */
export type CommandLine<T extends ParseArgsOptionsConfig> = {
  /** The command as the user types it, for messages: "seed", "start"… */
  name: string;
  /** One line: how it is run ("usage: bun run seed [--full] …"), printed with every usage error. */
  usage: string;
  /** What --help prints under the usage line: what it does and what each flag means. */
  help?: string;
  options: T;
  /** How many positional arguments it takes (none by default). */
  positionals?: { min: number; max: number };
  /** The arguments to read; the process's own by default. */
  args?: string[];
};

/** Values as parseArgs gives them: a string or a boolean per flag, absent when not given. */
type Values<T extends ParseArgsOptionsConfig> = {
  [K in keyof T]: T[K] extends { type: "boolean" } ? boolean | undefined : string | undefined;
};

export type ParsedCommandLine<T extends ParseArgsOptionsConfig> = {
  values: Values<T>;
  positionals: string[];
  /** A usage error: one line and the usage on stderr, exit code 2. */
  fail: (message: string) => never;
};

/**
 * Every command's parser: unknown flags, a flag without its value or a stray argument end it with one
 * line and the usage (exit 2), never a stack trace; `--help`/`-h` prints the usage and help (exit 0).
 */
export function parseCommandLine<T extends ParseArgsOptionsConfig>(command: CommandLine<T>): ParsedCommandLine<T> {
  const fail = (message: string): never => {
    console.error(`${command.name}: ${message}\n${command.usage}`);
    process.exit(2);
  };
  const { min, max } = command.positionals ?? { min: 0, max: 0 };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: command.args ?? Bun.argv.slice(2),
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: max > 0,
      strict: true,
    });
  } catch (error) {
    // Node's message goes on about "--" for positionals that start with a dash: the first sentence says it all.
    const message = String(error instanceof Error ? error.message : error).split("\n")[0] as string;
    return fail(message.replace(/\. To specify a positional argument.*$/, ""));
  }
  if (parsed.values.help) {
    console.log(command.help ? `${command.usage}\n${command.help}` : command.usage);
    process.exit(0);
  }
  if (parsed.positionals.length < min) fail("missing argument");
  if (parsed.positionals.length > max) fail(`unexpected argument ${JSON.stringify(parsed.positionals[max])}`);
  return { values: parsed.values as Values<T>, positionals: parsed.positionals, fail };
}

/** A flag's whole number within [min, max], or the command's usage error. */
export function wholeNumber(
  line: Pick<ParsedCommandLine<ParseArgsOptionsConfig>, "fail">,
  flag: string,
  value: string,
  { min = 0, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    line.fail(
      `--${flag} takes a whole number ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`}`,
    );
  }
  return number;
}
