import { expect } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICE_NAMES, serviceUrlVar } from "@lab/shared";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../scripts/lib/chromium";
import { freePort } from "../../scripts/lib/postgres";
import { ROOT, type Stack } from "../../scripts/lib/stack";
import { seedDatabases } from "../../scripts/seed/load";
import { throwAwayStack, waitUntil } from "../support";
import { needs } from "../tools";

const { afterAll, beforeAll, test } = needs(["chromium", "locust"]);

/**
 * `bun run locust` as an engineer uses it: the platform running (a small seed), Locust's own web UI
 * on a free port, a short run started from its form, requests counted on its page, stopped from it.
 */
const RUN_TIMEOUT_MS = 60_000;

let stack: Stack;
let browser: Browser;
let locust: Bun.Subprocess<"ignore", "pipe", "pipe">;
let locustUrl: string;
let inputDir: string;

beforeAll(async () => {
  stack = await throwAwayStack("lab-locust-ui");
  await seedDatabases({
    urls: stack.databaseUrls,
    sizes: { users: 40, courses: 30, enrollments: 20, payments: 5 },
    seed: 1,
  });
  inputDir = await mkdtemp(join(tmpdir(), "lab-locust-input-"));
  const webPort = freePort();
  locustUrl = `http://127.0.0.1:${webPort}`;
  locust = Bun.spawn(["bun", "run", "--silent", "locust", "--web-port", String(webPort)], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...Object.fromEntries(SERVICE_NAMES.map((name) => [serviceUrlVar(name), stack.urls[name]])),
      IDENTITY_DATABASE_URL: stack.databaseUrls.identity,
      LAB_INPUT_FILE: join(inputDir, "input.json"),
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  await waitUntil(
    () =>
      fetch(locustUrl, { signal: AbortSignal.timeout(500) }).then(
        (response) => response.ok,
        () => false,
      ),
    { timeoutMs: RUN_TIMEOUT_MS, intervalMs: 200, failure: "Locust's web UI did not come up" },
  );
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  locust?.kill("SIGTERM");
  await locust?.exited;
  await stack?.stop();
  if (inputDir) await rm(inputDir, { recursive: true, force: true });
}, 60_000);

test(
  "a run started from Locust's web UI counts requests against the stack and stops from it",
  async () => {
    const page = await browser.newPage();
    await page.goto(locustUrl);
    const form = page.locator("#swarm_form");
    // the Host field starts at the course service's URL: the stack locustfile.py was pointed at
    expect(await form.locator("input[name=host]").inputValue()).toBe(stack.urls.course);
    await form.locator("input.val[name=user_count]").fill("4");
    await form.locator("input.val[name=spawn_rate]").fill("4");
    await form.locator("button[type=submit]").click();

    // the statistics table of the page: a row per request name, the Aggregated row counting them all
    const counted = async (name: string) =>
      Number(
        (
          await page
            .locator("#stats tbody tr", { has: page.locator("td", { hasText: new RegExp(`^${name}$`) }) })
            .first()
            .locator("td")
            .nth(2)
            .textContent({ timeout: 1000 })
            .catch(() => "0")
        )?.replace(/\D/g, "") || 0,
      );
    await waitUntil(async () => (await counted("Aggregated")) >= 20 && (await counted("/courses")) > 0, {
      timeoutMs: RUN_TIMEOUT_MS,
      intervalMs: 500,
      failure: "Locust's page counted no requests",
    });

    await page.locator("a.stop-button").click();
    const state = async () => ((await (await fetch(`${locustUrl}/stats/requests`)).json()) as { state: string }).state;
    await waitUntil(async () => (await state()) === "stopped", {
      timeoutMs: RUN_TIMEOUT_MS,
      intervalMs: 250,
      failure: "the run did not stop",
    });
    const stats = (await (await fetch(`${locustUrl}/stats/requests`)).json()) as {
      stats: { name: string; num_requests: number; num_failures: number }[];
    };
    const total = stats.stats.find((row) => row.name === "Aggregated");
    expect(total?.num_requests).toBeGreaterThanOrEqual(20);
    // students log in, browse and enroll against the seeded accounts: nothing the services refused
    expect(total?.num_failures).toBe(0);
    await page.close();
  },
  RUN_TIMEOUT_MS * 2,
);
