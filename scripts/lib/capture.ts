import { basename, dirname, join, resolve } from "node:path";
import { freePort } from "./postgres";
import { spawnCollecting, stopProcess } from "./process";
import { ROOT, waitReady } from "./stack";

/**
 * What `bun run screenshot` captures and where: a finished run's folder and time range, the Lab
 * page's replay of it, and Grafana's dashboard over a range. Pure helpers apart from `startWebApp`.
 */

export type TimeRange = { from: number; to: number };

/** A time on the command line: ms since the epoch, or an ISO 8601 date-time; NaN when neither. */
export function parseTime(value: string): number {
  return /^\d+$/.test(value) ? Number(value) : /^\d{4}-\d\d-\d\d/.test(value) ? Date.parse(value) : Number.NaN;
}

export class NotARunError extends Error {}

export type RunFolder = {
  dir: string;
  /** The folder holding experiments (what the web app's EXPERIMENTS_DIR names). */
  experimentsDir: string;
  /** `<experiment>/<run-id>`, as the Lab page's `?run=` takes it. */
  name: string;
  /** When Locust ran, from run.json. */
  range: TimeRange;
};

/** experiments/<experiment>/results/<run-id>/ with its run.json. */
export async function readRunFolder(path: string): Promise<RunFolder> {
  const dir = resolve(path);
  const results = dirname(dir);
  const file = Bun.file(join(dir, "run.json"));
  if (basename(results) !== "results" || !(await file.exists())) {
    throw new NotARunError(`${path} is not a run: expected experiments/<experiment>/results/<run-id>/ with a run.json`);
  }
  const record = (await file.json()) as { started_at: string; finished_at: string };
  return {
    dir,
    experimentsDir: dirname(dirname(results)),
    name: `${basename(dirname(results))}/${basename(dir)}`,
    range: { from: Date.parse(record.started_at), to: Date.parse(record.finished_at) },
  };
}

/** The Lab page over a past range: a finished run replayed (web-htmx/src/lab/run.ts), or from Prometheus. */
export const labUrl = (web: string, range: TimeRange, run?: string) =>
  `${web.replace(/\/+$/, "")}/lab?${new URLSearchParams({ ...(run ? { run } : {}), from: String(range.from), to: String(range.to) })}`;

export const DASHBOARD_FILE = join(ROOT, "grafana/dashboards/coursework-lab.json");

/**
 * The provisioned dashboard over a range (Grafana takes from/to in ms since the epoch), in kiosk
 * mode: no menus around the panels.
 */
export async function grafanaDashboardUrl(grafana: string, range: TimeRange, dashboardFile = DASHBOARD_FILE) {
  const { uid, title } = (await Bun.file(dashboardFile).json()) as { uid: string; title: string };
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  const query = new URLSearchParams({ orgId: "1", from: String(range.from), to: String(range.to) });
  // a bare `kiosk`: kiosk=tv still shows the top bar in recent Grafana
  return `${grafana.replace(/\/+$/, "")}/d/${uid}/${slug}?${query}&kiosk`;
}

/** A PNG's file name: the kind alone for a run's whole range, else with the range in it. */
export const pngName = (kind: string, range: TimeRange, whole: boolean) => {
  const stamp = (ms: number) =>
    new Date(ms)
      .toISOString()
      .replace(/[:.]/g, "-")
      .replace(/-\d{3}Z$/, "Z");
  return whole ? `${kind}.png` : `${kind}-${stamp(range.from)}-${stamp(range.to)}.png`;
};

const READY_TIMEOUT_MS = 30_000;

/** The web app alone on a free port, reading runs from `experimentsDir`: the Lab page's replay needs no service. */
export async function startWebApp(experimentsDir: string) {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const { child, output } = spawnCollecting(["bun", join(ROOT, "web-htmx/src/index.ts")], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), EXPERIMENTS_DIR: experimentsDir, LOG_LEVEL: "warn" },
  });
  try {
    await waitReady({ name: "the web app", process: child, url }, READY_TIMEOUT_MS);
  } catch {
    child.kill("SIGKILL");
    throw new Error(`the web app did not start:\n${output().trim()}`);
  }
  return { url, stop: () => stopProcess(child, 5000) };
}
