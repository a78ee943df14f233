/**
 * Every `bun run <command> --flag …` the README and the docs show names a package.json script, and
 * each of its `--flags` is one the command's --help lists (`bun run locust` passes its arguments to
 * Locust: Locust's own help lists those).
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { findTool } from "../../scripts/experiments/run/tools";
import { runCommand } from "../../scripts/lib/process";
import { ROOT, repoIndex } from "./repo-facts";

/** `bun run NAME args…` (also `bun --env-file=… run NAME`), its arguments up to a comment, pipe or the span's end. */
const COMMAND = /\bbun (?:--[\w-]+(?:=\S+)? )*run (?:--silent )?(\w[\w:-]*)((?:[ \t]+(?![#|]|&&)[^\s`|]+)*)/g;

type CommandUse = { file: string; line: number; script: string; flags: string[] };

/** The commands of a Markdown text, in code spans and code blocks alike. */
function commandsIn(text: string, file: string): CommandUse[] {
  const uses: CommandUse[] = [];
  for (const [index, line] of text.split("\n").entries()) {
    for (const match of line.matchAll(COMMAND)) {
      const flags = (match[2] ?? "")
        .trim()
        .split(/\s+/)
        .filter((token) => /^--[a-z]/.test(token))
        .map((token) => token.split("=")[0] as string);
      uses.push({ file, line: index + 1, script: match[1] as string, flags });
    }
  }
  return uses;
}

const docs = repoIndex().filter((path) => path === "README.md" || /^(docs|experiments)\/.*\.md$/.test(path));
const scripts: Record<string, string> = (await Bun.file(join(ROOT, "package.json")).json()).scripts;
const uses = (
  await Promise.all(docs.map(async (file) => commandsIn(await Bun.file(join(ROOT, file)).text(), file)))
).flat();

const helpOf = async (script: string) => {
  const help = (await runCommand(["bun", "run", "--silent", script, "--help"], { cwd: ROOT })).stdout;
  if (script !== "locust") return help;
  return `${help}\n${(await runCommand([findTool("locust") ?? "locust", "--help"], { cwd: ROOT })).stdout}`;
};

describe("commands in the docs", () => {
  test("the reader finds commands and their flags in spans and blocks", () => {
    const text = [
      "Run `bun run seed --full --reset` first,",
      "bun --env-file=docker/host.env run admin:create ops@lab.test --password x   # a comment --ignored",
      "then `bun run lab --repeat=3` | and bun run start",
    ].join("\n");
    expect(commandsIn(text, "x.md")).toEqual([
      { file: "x.md", line: 1, script: "seed", flags: ["--full", "--reset"] },
      { file: "x.md", line: 2, script: "admin:create", flags: ["--password"] },
      { file: "x.md", line: 3, script: "lab", flags: ["--repeat"] },
      { file: "x.md", line: 3, script: "start", flags: [] },
    ]);
  });

  test("every command named is a package.json script", () => {
    expect(uses.length).toBeGreaterThan(20);
    const unknown = uses
      .filter((use) => !(use.script in scripts))
      .map((use) => `${use.file}:${use.line} ${use.script}`);
    expect(unknown).toEqual([]);
  });

  test("every flag shown is one the command's --help lists", async () => {
    const withFlags = [...new Set(uses.filter((use) => use.flags.length).map((use) => use.script))];
    const helps = Object.fromEntries(
      await Promise.all(withFlags.map(async (script) => [script, await helpOf(script)])),
    );
    const wrong = uses.flatMap((use) =>
      use.flags
        .filter((flag) => !new RegExp(`(^|[\\s\\[(,|])${flag}\\b`).test(helps[use.script] ?? ""))
        .map((flag) => `${use.file}:${use.line} bun run ${use.script} ${flag}`),
    );
    expect(wrong).toEqual([]);
  }, 60_000);
});
