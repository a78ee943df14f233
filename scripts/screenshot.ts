/**
 * bun run screenshot --run experiments/<name>/results/<run-id> [--from T --to T] [--grafana URL] [--out DIR]
 * PNGs of the dashboards over a time range, with headless Chromium: the Lab page replaying a
 * finished run (from its timeline.json, on a web app started for the capture), and Grafana's
 * dashboard under compose. Beside the run's results unless --out says otherwise.
 */
import { mkdir } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Browser } from "playwright-core";
import { parseCommandLine } from "./lib/args";
import {
  grafanaDashboardUrl,
  labRunUrl,
  NotARunError,
  parseTime,
  pngName,
  type RunFolder,
  readRunFolder,
  startWebApp,
  type TimeRange,
} from "./lib/capture";
import { ChromiumMissingError, launchChromium } from "./lib/chromium";
import { ROOT } from "./lib/stack";

const line = parseCommandLine({
  name: "screenshot",
  usage:
    "usage: bun run screenshot [--run experiments/<name>/results/<run-id>] [--from TIME --to TIME] [--grafana URL] [--out DIR]",
  help: `PNGs of the dashboards over a time range, taken with headless Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
  --run DIR      a finished run: the Lab page replays it (lab.png) and its start and end are the range
  --from, --to   the range instead (ms since the epoch or ISO 8601, e.g. 2026-11-30T10:59:43Z); within a run for the Lab page
  --grafana URL  also Grafana's Coursework Lab dashboard over the range (grafana.png), e.g. http://127.0.0.1:3001 under compose
  --out DIR      where the PNGs go (default: the run's folder, else .data/screenshots)`,
  options: {
    run: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
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
if (!values.run && !values.grafana) {
  fail("the Lab page shows a range only for a finished run (--run); for any other range use Grafana (--grafana URL)");
}
if (!values.run && (from === undefined || to === undefined)) fail("without --run, give the range: --from and --to");
if (values.grafana && !/^https?:\/\/[^/]+/.test(values.grafana))
  fail("--grafana takes Grafana's URL, e.g. http://127.0.0.1:3001");

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

let browser: Browser | undefined;
let web: Awaited<ReturnType<typeof startWebApp>> | undefined;
try {
  browser = await launchChromium();
  await mkdir(out, { recursive: true });
  if (run) {
    web = await startWebApp(run.experimentsDir);
    const file = join(out, pngName("lab", range, whole));
    await capture(browser, labRunUrl(web.url, run.name, range), "[data-chart], [data-testid=lab-collecting]", file);
    say(`Lab page of ${run.name}: ${shown(file)}`);
  }
  if (values.grafana) {
    const file = join(out, pngName("grafana", range, whole));
    // Grafana draws its panels after the page loads: a panel's content is what is waited for
    await capture(browser, await grafanaDashboardUrl(values.grafana, range), ".react-grid-item", file);
    say(`Grafana dashboard: ${shown(file)}`);
  }
} catch (error) {
  console.error(`screenshot: ${error instanceof ChromiumMissingError ? error.message : error}`);
  process.exitCode = 1;
} finally {
  await browser?.close();
  await web?.stop();
}
