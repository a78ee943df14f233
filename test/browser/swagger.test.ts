import { expect } from "bun:test";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../../scripts/lib/chromium";
import { identityApp } from "../../services/identity/src/app";
import { ROOT } from "../docs/repo-facts";
import { type Harness, serviceHarness } from "../support";
import { needs } from "../tools";

const { afterAll, beforeAll, test } = needs(["chromium"]);

/**
 * Identity's /swagger in headless Chromium, as a reader uses it: the page loads with nothing from a
 * CDN, **Authorize** takes a token, and "Try it out" on a route that wants one answers 200 signed in
 * (and 401 before). The other services' pages are the same plugin; test/docs/openapi.test.ts checks
 * every document.
 */

let api: Harness | undefined;
let url: string;
let browser: Browser;
let page: Page;
let token: string;
/** Requests the page made to other hosts: none may be needed. */
const foreign: string[] = [];

// a long timeout: migrating a database and starting Chromium take seconds, more on a busy machine
beforeAll(async () => {
  api = await serviceHarness("identity", join(ROOT, "services/identity/migrations"), identityApp);
  api.app.listen({ port: 0, hostname: "127.0.0.1" });
  url = `http://127.0.0.1:${api.app.server?.port}`;
  const account = { email: "reader@example.com", password: "correct horse", full_name: "Reader", role: "student" };
  expect((await api.request("POST", "/register", { body: account })).status).toBe(201);
  token = (await api.request("POST", "/login", { body: account })).body.access_token;
  browser = await launchChromium();
  page = await browser.newPage();
  page.on("request", (request) => {
    if (!request.url().startsWith(url)) foreign.push(request.url());
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.app.stop(true);
  await api?.close();
});

/** Expands GET /me, presses "Try it out" and "Execute", and returns the status the page shows. */
async function tryMe(): Promise<string> {
  const operation = page.locator("#operations-users-getMe");
  if (!(await operation.locator(".try-out__btn").isVisible())) await operation.locator(".opblock-summary").click();
  const tryOut = operation.locator(".try-out__btn");
  if ((await tryOut.textContent())?.includes("Try it out")) await tryOut.click();
  await operation.locator(".execute").click();
  const status = operation.locator(".live-responses-table tr.response .response-col_status").first();
  await status.waitFor();
  const text = (await status.textContent())?.trim() ?? "";
  await operation.locator(".btn-clear").click();
  return text;
}

test("the page loads from the service alone and lists the routes", async () => {
  await page.goto(`${url}/swagger`);
  await page.locator("#operations-users-getMe").waitFor();
  expect(foreign).toEqual([]);
});

test("GET /me is 401 until Authorize takes a token, then 200", async () => {
  expect(await tryMe()).toBe("401");
  await page.locator(".auth-wrapper .authorize").click();
  await page.locator(".auth-container input").fill(token);
  await page.locator(".auth-btn-wrapper .authorize").click();
  await page.locator(".auth-btn-wrapper .btn-done").click();
  expect(await tryMe()).toBe("200");
});
