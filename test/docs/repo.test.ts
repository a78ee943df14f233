import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { normalisePath } from "./doc-check";
import { ROOT, trackedFiles } from "./repo-facts";

/**
 * The README as a front door (short, with a layout map that leaves nothing out) and the repository as
 * a whole (no file points at a path outside it), both read from what git tracks.
 */

const README_LIMIT = 12_000;

/**
 * Top-level entries the Layout table need not name: dotfiles and dot-folders (git, Docker and CI
 * plumbing: `.ci/run` is under "Checks"), the README itself, and the manifests and tool settings
 * every Bun + TypeScript project has at its root. Named one by one, so a new root file is a decision.
 */
const UNMAPPED_ROOT_FILES = ["README.md", "package.json", "bun.lock", "bunfig.toml", "tsconfig.json", "biome.json"];
const isUnmapped = (entry: string) => entry.startsWith(".") || UNMAPPED_ROOT_FILES.includes(entry);

/** The code spans of the first column of the table under `## Layout`. */
function layoutPaths(readme: string): string[] {
  const section = readme.split("\n## Layout\n")[1]?.split("\n## ")[0] ?? "";
  return section
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("|---"))
    .slice(1)
    .flatMap((line) => [...(line.split("|")[1] ?? "").matchAll(/`([^`]+)`/g)].map((span) => span[1] as string));
}

/** Whether a top-level entry is what a layout path starts with (`compose*.yaml`, `services/<name>/`). */
const maps = (path: string, entry: string) =>
  new Bun.Glob((path.split("/")[0] as string).replace(/<[^>]+>/g, "*")).match(entry);

/**
 * Relative paths in a text that climb out of its folder: `../outside/x`, `"../.."`. Not one preceded by
 * a word, a dot or a slash, which is a URL's or an absolute path's middle, or an ellipsis (`.../`).
 */
function climbingPaths(text: string): string[] {
  return [...text.matchAll(/(?<![\w@./-])(?:\.\.\/)+(?:\.\.(?![\w.])|[^\s"'`)\]>,;:|]*)/g)].map((match) => match[0]);
}

/** Climbs out of the repository on purpose: attacks a test sends, each with the file it is in. */
const DELIBERATE_CLIMBS = [
  // built, so that this file does not hold the climb itself
  { file: "test/reliability/hostile.ts", path: `${"../".repeat(3)}etc/passwd` },
];

/** The climbing paths of a file that, read from its folder, leave the repository. */
function pathsLeavingRepo(file: string, text: string): string[] {
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
  return climbingPaths(text).filter((path) => normalisePath(dir ? `${dir}/${path}` : path) === null);
}

describe("README.md", () => {
  test(`is under ${README_LIMIT.toLocaleString("en")} characters`, async () => {
    const readme = await Bun.file(join(ROOT, "README.md")).text();
    expect([...readme].length).toBeLessThan(README_LIMIT);
  });

  test("its Layout table names every top-level folder and file group git tracks", async () => {
    const paths = layoutPaths(await Bun.file(join(ROOT, "README.md")).text());
    expect(paths.length).toBeGreaterThan(5);
    const top = [...new Set(trackedFiles().map((file) => file.split("/")[0] as string))];
    expect(top.filter((entry) => !isUnmapped(entry) && !paths.some((path) => maps(path, entry)))).toEqual([]);
    // the files let off are there, so the list does not outlive them
    expect(UNMAPPED_ROOT_FILES.filter((file) => !top.includes(file))).toEqual([]);
  });
});

describe("the repository", () => {
  test("reading paths: a climb is found in links, imports and strings, not in URLs or absolute paths", () => {
    const text = 'See [x](../../x.md); import "../lib/a"; join(dir, "../.."); https://h/a/../b; /usr/../lib; …/../';
    expect(climbingPaths(text)).toEqual(["../../x.md", "../lib/a", "../.."]);
    expect(pathsLeavingRepo("docs/architecture/01.md", "[r](../../README.md) [s](../../x.md)")).toEqual([]);
    expect(pathsLeavingRepo("docs/01.md", "[r](../README.md) [s](../../x.md)")).toEqual(["../../x.md"]);
    expect(pathsLeavingRepo("README.md", "[a](../outside/NOTES.md) [b](docs/usage.md)")).toEqual([
      "../outside/NOTES.md",
    ]);
  });

  test("no tracked text file refers to a path outside it", async () => {
    const leaving: string[] = [];
    for (const file of trackedFiles()) {
      const bytes = await Bun.file(join(ROOT, file)).bytes();
      if (bytes.includes(0)) continue; // binary: images
      for (const path of pathsLeavingRepo(file, new TextDecoder().decode(bytes))) {
        if (!DELIBERATE_CLIMBS.some((climb) => climb.file === file && climb.path === path)) {
          leaving.push(`${file}: ${path}`);
        }
      }
    }
    expect(leaving).toEqual([]);
    // each deliberate climb is still where it is listed, so the list does not outlive it
    for (const climb of DELIBERATE_CLIMBS) {
      expect(pathsLeavingRepo(climb.file, await Bun.file(join(ROOT, climb.file)).text())).toContain(climb.path);
    }
  });
});
