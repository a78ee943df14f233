/**
 * bun run screenshot (--run experiments/<name>/results/<run-id> | --from T --to T) [--grafana URL] [--out DIR]
 * PNGs of the dashboards over a time range, with headless Chromium: the Lab page replaying a
 * finished run (from its timeline.json, on a web app started for the capture) or, for any range,
 * the running stack's Lab page from Prometheus; and Grafana's dashboard under compose. Beside the
 * run's results unless --out says otherwise.
 */
import { mkdir } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Browser } from "playwright-core";
import { parseCommandLine } from "./lib/args";
import {
  grafanaDashboardUrl,
  labUrl,
  NotARunError,
  parseTime,
  pngName,
  type RunFolder,
  readRunFolder,
  startWebApp,
  type TimeRange,
} from "./lib/capture";
import { ChromiumMissingError, launchChromium } from "./lib/chromium";
import { ROOT, runningStackUrls } from "./lib/stack";

const line = parseCommandLine({
  name: "screenshot",
  usage:
    "usage: bun run screenshot (--run experiments/<name>/results/<run-id> | --from TIME --to TIME) [--web URL] [--grafana URL] [--out DIR]",
  help: `PNGs of the dashboards over a time range, taken with headless Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
  --run DIR      a finished run: the Lab page replays it from its timeline (lab.png); its start and end are the range
  --from, --to   the range (ms since the epoch or ISO 8601, e.g. 2026-11-30T10:59:43Z); with --run, a part of the run;
                 without, the running stack's Lab page from Prometheus (bun run start --prometheus)
  --web URL      that stack's web app (default http://127.0.0.1:3000, or WEB_PORT)
  --grafana URL  also Grafana's Coursework Lab dashboard over the range (grafana.png), e.g. http://127.0.0.1:3001 under compose
  --out DIR      where the PNGs go (default: the run's folder, else .data/screenshots)`,
  options: {
    run: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    web: { type: "string" },
    grafana: { type: "string" },
    out: { type: "string" },
  },
});
const { values, fail } = line;
const time = (flag: "from" | "to") => {
  const value = values[flag];
  if (value === undefined) return undefined;
  const ms = parseTime(value);
  if (Number.isNaN(ms)) fail(`--${flag} takes ms since the epoch or an ISO 8601 time, got ${JSON.stringify(value)}`);
  return ms;
};
const from = time("from");
const to = time("to");
if (!values.run && (from === undefined || to === undefined)) fail("without --run, give the range: --from and --to");
if (values.run && values.web) fail("--web goes without --run: a run is replayed on a web app started for it");
for (const flag of ["web", "grafana"] as const) {
  const url = values[flag];
  if (url !== undefined && !/^https?:\/\/[^/]+/.test(url)) fail(`--${flag} takes a URL, e.g. http://127.0.0.1:3000`);
}

let run: RunFolder | undefined;
try {
  run = values.run ? await readRunFolder(values.run) : undefined;
} catch (error) {
  if (error instanceof NotARunError) fail(error.message);
  throw error;
}
const range: TimeRange = { from: from ?? run?.range.from ?? 0, to: to ?? run?.range.to ?? 0 };
if (range.from >= range.to) fail("--from must come before --to");
const whole = run !== undefined && range.from === run.range.from && range.to === run.range.to;
const out = values.out ?? run?.dir ?? join(ROOT, ".data/screenshots");
const say = (text: string) => console.log(`[screenshot] ${text}`);
const shown = (file: string) => (file.startsWith(`${ROOT}/`) ? relative(ROOT, file) : file);

/** Opens `url` full-width, waits for `ready`, saves the whole page. */
async function capture(browser: Browser, url: string, ready: string, file: string) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  try {
    const response = await page.goto(url, { waitUntil: "networkidle", timeout: 60_000 });
    if (!response?.ok()) {
      const problem =
        (await page
          .locator("[role=alert]")
          .first()
          .textContent({ timeout: 1000 })
          .catch(() => null)) ?? "";
      throw new Error(`${url} answered ${response?.status() ?? "nothing"}${problem ? `: ${problem.trim()}` : ""}`);
    }
    await page.locator(ready).first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: file, fullPage: true });
  } finally {
    await page.close();
  }
}

/** Each capture on its own: one that fails (a stack not running, Grafana down) does not stop the other. */
const failures: string[] = [];
async function attempt(what: string, work: () => Promise<string>) {
  try {
    say(`${what}: ${shown(await work())}`);
  } catch (error) {
    failures.push(`${what}: ${error instanceof Error ? error.message : error}`);
  }
}

let browser: Browser | undefined;
let web: Awaited<ReturnType<typeof startWebApp>> | undefined;
try {
  const chromium = await launchChromium();
  browser = chromium;
  await mkdir(out, { recursive: true });
  const lab = join(out, pngName("lab", range, whole));
  const labReady = "[data-chart], [data-testid=lab-collecting]";
  if (run) {
    const folder = run;
    await attempt(`Lab page of ${folder.name}`, async () => {
      web = await startWebApp(folder.experimentsDir);
      await capture(chromium, labUrl(web.url, range, folder.name), labReady, lab);
      return lab;
    });
  } else {
    const stack = values.web ?? runningStackUrls().web;
    await attempt(`Lab page of ${stack}`, async () => {
      await capture(chromium, labUrl(stack, range), labReady, lab);
      return lab;
    });
  }
  const grafana = values.grafana;
  if (grafana) {
    const file = join(out, pngName("grafana", range, whole));
    // Grafana draws its panels after the page loads: a panel's content is what is waited for
    await attempt("Grafana dashboard", async () => {
      await capture(chromium, await grafanaDashboardUrl(grafana, range), ".react-grid-item", file);
      return file;
    });
  }
} catch (error) {
  failures.push(error instanceof ChromiumMissingError ? error.message : String(error));
} finally {
  await browser?.close();
  await web?.stop();
}
for (const failure of failures) console.error(`screenshot: ${failure}`);
process.exitCode = failures.length ? 1 : 0;
