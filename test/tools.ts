/**
 * The external programs some tests drive, and what a test file does when one is missing: on a
 * developer's machine its tests are skipped with one line naming the program and the Debian package
 * that brings it (the preload prints a summary and one `apt-get install` line at the end); under
 * CI=true, as .ci/run runs, they fail at once with the same words instead of waiting for a launcher.
 */
import { afterAll, beforeAll, describe, test } from "bun:test";
import { existsSync } from "node:fs";
import { relative } from "node:path";
import { CHROMIUM } from "../scripts/lib/chromium";

const ROOT = `${import.meta.dir}/..`;
/** Debian installs PgBouncer and Redis in sbin or bin, not always on a user's PATH; the launchers look there too. */
const SBIN = "/usr/sbin:/usr/local/sbin";
const onPath = (program: string) => () => Bun.which(program) ?? Bun.which(program, { PATH: SBIN }) ?? null;
/** The Python the load package runs under (Debian's, with python3-locust and python3-pytest). */
export const PYTHON = "/usr/bin/python3";
const pythonModule = (module: string) => () =>
  Bun.which(PYTHON) && Bun.spawnSync([PYTHON, "-c", `import ${module}`], { stderr: "ignore" }).exitCode === 0
    ? PYTHON
    : null;

export const TOOLS = {
  "docker-compose": { pkg: "docker-compose", find: onPath("docker-compose") },
  "redis-server": { pkg: "redis-server", find: onPath("redis-server") },
  prometheus: { pkg: "prometheus", find: onPath("prometheus") },
  promtool: { pkg: "prometheus", find: onPath("promtool") },
  "prometheus-postgres-exporter": {
    pkg: "prometheus-postgres-exporter",
    find: onPath("prometheus-postgres-exporter"),
  },
  "prometheus-redis-exporter": { pkg: "prometheus-redis-exporter", find: onPath("prometheus-redis-exporter") },
  pgbouncer: { pkg: "pgbouncer", find: onPath("pgbouncer") },
  // run by Debian's /usr/bin/python3 (the load package and its pytest tests import it there)
  locust: {
    pkg: "python3-locust",
    find: () => (onPath("locust")() && pythonModule("locust")() ? onPath("locust")() : null),
  },
  pytest: { pkg: "python3-pytest", find: pythonModule("pytest") },
  wrk: { pkg: "wrk", find: onPath("wrk") },
  chromium: { pkg: "chromium", find: () => (existsSync(CHROMIUM) ? CHROMIUM : null) },
  kubectl: { pkg: "kubernetes-client", find: onPath("kubectl") },
} as const satisfies Record<string, { pkg: string; find: () => string | null }>;
export type ToolName = keyof typeof TOOLS;

export type Skipped = { group: string; tools: ToolName[] };
const skipped: Skipped[] = [];
/** The groups skipped so far in this run (the preload reads it once every file has run). */
export const skippedGroups = (): readonly Skipped[] => skipped;

const found = new Map<ToolName, boolean>();
const isInstalled = (tool: ToolName) => {
  if (!found.has(tool)) found.set(tool, TOOLS[tool].find() !== null);
  return found.get(tool)!;
};

export const installLine = (tools: readonly ToolName[]) =>
  `apt-get install ${[...new Set(tools.map((tool) => TOOLS[tool].pkg))].join(" ")}`;

const named = (tools: readonly ToolName[]) => tools.map((tool) => `${tool} (Debian ${TOOLS[tool].pkg})`).join(", ");

/** The test file that called needs(): the first stack frame outside this module. */
function callerFile(): string {
  const frames = (new Error().stack ?? "").split("\n");
  for (const frame of frames) {
    const path = /\(?((?:\/|[A-Za-z]:\\)[^():]+\.test\.ts)/.exec(frame)?.[1];
    if (path) return relative(ROOT, path);
  }
  return "a test file";
}

type TestFn = typeof test;
type DescribeFn = typeof describe;
type Hooks = { beforeAll: typeof beforeAll; afterAll: typeof afterAll };
/** A file's hooks when its tests do not run: its set-up would start the program that is missing. */
const idle: Hooks = { beforeAll: () => {}, afterAll: () => {} };

/**
 * `test`, `describe` and the file's `beforeAll`/`afterAll` for tests that drive these programs. All
 * installed: bun's own. One missing: skipped with one line (recorded for the end-of-run summary), or
 * under CI=true, tests that fail at once saying what to install; the hooks then do nothing, so a
 * set-up that starts the program never runs. `group` names the skipped tests in the summary (the
 * calling file by default).
 */
export function needs(
  tools: ToolName | readonly ToolName[],
  group?: string,
): { test: TestFn; describe: DescribeFn; missing: ToolName[]; ready: boolean } & Hooks {
  const wanted = typeof tools === "string" ? [tools] : [...tools];
  const missing = wanted.filter((tool) => !isInstalled(tool));
  if (!missing.length) return { test, describe, beforeAll, afterAll, missing, ready: true };
  const name = group ?? callerFile();
  const message = `${name} needs ${named(missing)}: ${installLine(missing)}`;
  if (process.env.CI === "true") {
    const fail = () => {
      throw new Error(`missing program under CI=true: ${message}`);
    };
    // Every form (test, test.each(...), describe.skipIf(...)...) registers one test that fails at once.
    const failing = (register: (label: string, fn: () => void) => void) => {
      const call = (label: string) => register(String(label), fail);
      return new Proxy(call, { get: () => () => call }) as unknown;
    };
    return {
      test: failing(test) as TestFn,
      describe: failing((label) =>
        describe(label, () => test(`${label}: ${missing.join(", ")} installed`, fail)),
      ) as DescribeFn,
      ...idle,
      missing,
      ready: false,
    };
  }
  skipped.push({ group: name, tools: missing });
  console.warn(`skipped: ${message}`);
  return { test: test.skip, describe: describe.skip, ...idle, missing, ready: false };
}

/** The end-of-run summary: what was skipped and the one line that installs it all; empty when nothing was. */
export function skippedSummary(groups: readonly Skipped[] = skipped): string {
  if (!groups.length) return "";
  const tools = [...new Set(groups.flatMap((entry) => entry.tools))];
  return [
    `skipped ${groups.length} test group${groups.length === 1 ? "" : "s"} for missing programs:`,
    ...groups.map((entry) => `  ${entry.group}: ${entry.tools.join(", ")}`),
    `to run them: ${installLine(tools)}`,
  ].join("\n");
}
