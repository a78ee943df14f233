/**
 * `bun run screenshot`'s ranges and URLs, and the Lab page's answers for runs it cannot show. The
 * capture itself is tested on a real run in smoke.test.ts; Grafana, which only runs under compose,
 * through the URL and time range the command builds for it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DASHBOARD_FILE,
  grafanaDashboardUrl,
  labUrl,
  parseTime,
  pngName,
  readRunFolder,
  startWebApp,
} from "../../scripts/lib/capture";
import { ROOT } from "../../scripts/lib/stack";

let scratch: string;
let runDir: string;
const RUN = "02-trgm-index/2026-11-30T10-59-01Z-rate";
const STARTED = "2026-11-30T10:59:43.005Z";
const FINISHED = "2026-11-30T11:09:08.544Z";

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "lab-screenshot-"));
  runDir = join(scratch, "experiments/02-trgm-index/results/2026-11-30T10-59-01Z-rate");
  await mkdir(runDir, { recursive: true });
  await Bun.write(join(runDir, "run.json"), JSON.stringify({ started_at: STARTED, finished_at: FINISHED, flags: {} }));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe("what bun run screenshot captures", () => {
  test("a run folder gives the Lab page's run name and Locust's start and end as the range", async () => {
    const run = await readRunFolder(runDir);
    expect(run).toEqual({
      dir: runDir,
      experimentsDir: join(scratch, "experiments"),
      name: RUN,
      range: { from: Date.parse(STARTED), to: Date.parse(FINISHED) },
    });
    await expect(readRunFolder(join(scratch, "experiments"))).rejects.toThrow(/is not a run/);
    expect(labUrl("http://127.0.0.1:4000/", run.range, run.name)).toBe(
      `http://127.0.0.1:4000/lab?run=02-trgm-index%2F2026-11-30T10-59-01Z-rate&from=${Date.parse(STARTED)}&to=${Date.parse(FINISHED)}`,
    );
  });

  test("Grafana's URL: the provisioned dashboard, from and to in ms since the epoch, kiosk mode", async () => {
    const { uid } = (await Bun.file(DASHBOARD_FILE).json()) as { uid: string };
    const range = { from: parseTime(STARTED), to: parseTime("1796037000000") };
    const url = new URL(await grafanaDashboardUrl("http://127.0.0.1:3001/", range));
    expect(url.origin).toBe("http://127.0.0.1:3001");
    expect(url.pathname).toBe(`/d/${uid}/coursework-lab`);
    expect(url.searchParams.get("from")).toBe("1796036383005");
    expect(url.searchParams.get("to")).toBe("1796037000000");
    expect(url.searchParams.has("kiosk")).toBe(true);
    expect(Number.isNaN(parseTime("yesterday"))).toBe(true);
  });

  test("PNG names: the kind for a run's whole range, the range in the name otherwise", () => {
    const range = { from: Date.parse(STARTED), to: Date.parse(FINISHED) };
    expect(pngName("lab", range, true)).toBe("lab.png");
    expect(pngName("grafana", range, false)).toBe("grafana-2026-11-30T10-59-43Z-2026-11-30T11-09-08Z.png");
  });

  test("what it cannot capture is one line and the usage, exit 2, before Chromium starts", async () => {
    const cases: [string[], RegExp][] = [
      [[], /give the range: --from and --to/],
      [["--from", "1", "--to", "2", "--web", "localhost:3000"], /--web takes a URL/],
      [["--grafana", "http://127.0.0.1:3001"], /give the range: --from and --to/],
      [["--run", scratch], /is not a run/],
      [["--run", runDir, "--from", "soon"], /--from takes ms since the epoch or an ISO 8601 time/],
      [["--run", runDir, "--from", FINISHED, "--to", STARTED], /--from must come before --to/],
    ];
    const answers = await Promise.all(
      cases.map(async ([args]) => {
        const child = Bun.spawn(["bun", "run", "--silent", "screenshot", ...args], { cwd: ROOT, stderr: "pipe" });
        return { code: await child.exited, stderr: await new Response(child.stderr).text() };
      }),
    );
    for (const [index, [, message]] of cases.entries()) {
      expect(answers[index]!.code).toBe(2);
      expect(answers[index]!.stderr).toMatch(message);
    }
  }, 30_000);
});

describe("the Lab page for a finished run", () => {
  test("an old timeline shows rates with a notice; an unknown run is 404, a bad range 400", async () => {
    // a timeline as runs wrote it before the latency figures: one reading a second, course at 50 req/s
    const started = Date.parse(STARTED) / 1000;
    const metrics = Array.from({ length: 30 }, (_, second) => ({
      at: started + second,
      services: {
        course: {
          pool_size: 5,
          pool_in_use: 1,
          pool_waiting: 0,
          pool_exhausted_total: 0,
          responses_total: 50 * second,
          responses_503_total: 0,
          eventloop_lag_p99_s: 0.01,
          cache_hit_total: 0,
          cache_miss_total: 0,
        },
      },
    }));
    await Bun.write(join(runDir, "timeline.json"), JSON.stringify({ clock_ticks: 100, cores: 2, cpu: [], metrics }));
    const web = await startWebApp(join(scratch, "experiments"));
    try {
      const page = await fetch(labUrl(web.url, { from: started * 1000, to: (started + 29) * 1000 }, RUN));
      const html = await page.text();
      expect(page.status).toBe(200);
      expect(html).toContain("recorded before it kept latency and 4xx figures");
      expect(html).toContain("Per service, 2026-11-30 10:59:43 to 2026-11-30 11:00:12 UTC (29 s)");
      expect(html).toMatch(/data-service="course"[\s\S]*?>50\.0</);
      expect(html).toContain('data-chart="requests"');
      expect(html).not.toContain("hx-trigger");

      expect((await fetch(`${web.url}/lab?run=02-trgm-index/2026-01-01T00-00-00Z-rate`)).status).toBe(404);
      expect((await fetch(`${web.url}/lab?run=../../etc`)).status).toBe(404);
      expect((await fetch(`${web.url}/lab?run=${encodeURIComponent(RUN)}&from=soon`)).status).toBe(400);
      expect((await fetch(`${web.url}/lab?run=${encodeURIComponent(RUN)}&from=20&to=10`)).status).toBe(400);
    } finally {
      await web.stop();
    }
  }, 60_000);
});
