import { expect } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Db } from "@lab/shared";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "../../scripts/lib/chromium";
import { ROOT, type Stack } from "../../scripts/lib/stack";
import { UserService } from "../../services/identity/src/users/service";
import { http, throwAwayStack } from "../support";
import { needs } from "../tools";

const { afterAll, beforeAll, describe, test } = needs(["chromium"]);

/**
 * The web UI in a real browser (Debian's Chromium, headless) against the whole platform started by
 * the launcher of `bun run start`: own PostgreSQL, free ports, a throw-away data directory. One
 * stack and one browser serve every test; each test has its own browser context (own cookies).
 */
const FAILURES = join(ROOT, "test-results");
// Tests leave tracked files alone: the shots go to an ignored folder, and
// `LAB_SCREENSHOTS_DIR=docs/screenshots bun test test/browser/web.test.ts` refreshes the committed ones.
const SCREENSHOTS = process.env.LAB_SCREENSHOTS_DIR ?? join(ROOT, ".data/screenshots/browser");
const PASSWORD = "browser-test-pw";
const FLOW_TIMEOUT_MS = 60_000;

let stack: Stack;
let browser: Browser;
let web: string;
let teacherToken: string;
let adminToken: string;

async function login(email: string) {
  const answer = await http("POST", `${stack.urls.identity}/login`, { body: { email, password: PASSWORD } });
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

async function createCourse(title: string, price_cents: number, description = "A course made for the browser tests.") {
  const answer = await http("POST", `${stack.urls.course}/courses`, {
    token: teacherToken,
    body: { title, description, level: "beginner", price_cents, duration_hours: 3 },
  });
  expect(answer.status).toBe(201);
  return answer.body as { id: number; title: string };
}

beforeAll(async () => {
  await mkdir(FAILURES, { recursive: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  stack = await throwAwayStack("lab-browser");
  web = stack.urls.web as string;

  // accounts no form can make: an admin (as `bun run admin:create` does) and a verified teacher for the catalog
  const db = new Db({ url: stack.databaseUrls.identity, max: 1, acquireTimeoutMs: 5000 });
  const users = new UserService(db, { secret: "unused", ttlSeconds: 60 });
  await users.create({
    email: "admin@lab.test",
    password: PASSWORD,
    full_name: "Admin",
    role: "admin",
    is_verified: true,
  });
  await users.create({
    email: "grace@lab.test",
    password: PASSWORD,
    full_name: "Grace Hopper",
    role: "teacher",
    is_verified: true,
  });
  await db.close();
  adminToken = await login("admin@lab.test");
  teacherToken = await login("grace@lab.test");

  // a second catalog page's worth of courses, then the ones the tests look for (newest first)
  for (let n = 1; n <= 13; n++) await createCourse(`Filler course ${String(n).padStart(2, "0")}`, 0);
  await createCourse("Rust Basics", 0, "Ownership, borrowing and cargo.");
  await createCourse("PostgreSQL Tuning", 1999, "Indexes, plans and connection pools.");
  await createCourse("<script>alert(1)</script>", 0, "<img src=x onerror=alert(2)> is just text here.");

  // a fresh, empty user-data directory is made by Playwright for this launch and removed after it
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, 60_000);

type Flow = { page: Page; context: BrowserContext; problems: string[] };

/**
 * Runs a test in a fresh browser context; on failure saves a screenshot to test-results/. Console
 * errors (a Content-Security-Policy violation, a failed script) and page errors fail the test.
 */
async function inBrowser(
  name: string,
  body: (flow: Flow) => Promise<void>,
  options: { javaScript?: boolean; viewport?: { width: number; height: number } } = {},
) {
  const context = await browser.newContext({
    baseURL: web,
    javaScriptEnabled: options.javaScript ?? true,
    ...(options.viewport ? { viewport: options.viewport, isMobile: true, hasTouch: true } : {}),
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    // answers with an error status (a 422 form, a 403 page) are expected; anything else is not
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(message.text());
    }
  });
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("dialog", (dialog) => {
    problems.push(`unexpected dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  try {
    await body({ page, context, problems });
    expect(problems).toEqual([]);
  } catch (error) {
    await page.screenshot({ path: join(FAILURES, `${name}.png`), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await context.close();
  }
}

const shot = (page: Page, file: string, fullPage = true) =>
  page.screenshot({ path: join(SCREENSHOTS, file), fullPage });

let accounts = 0;
async function register(page: Page, role: "student" | "teacher", name: string) {
  const email = `${role}${++accounts}-${Date.now()}@lab.test`;
  await page.goto("/register");
  await page.getByLabel("Full name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("radio", { name: new RegExp(role, "i") }).check();
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(role === "teacher" ? "**/courses/new" : `${web}/`);
  return email;
}

async function logIn(page: Page, email: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

const header = (page: Page) => page.locator("header");
const results = (page: Page) => page.locator("#results");

describe("web UI in Chromium", () => {
  test(
    "a student registers, searches, enrolls in a free course, sees it in My courses and reads the notification",
    async () => {
      await inBrowser("student-free-flow", async ({ page }) => {
        await register(page, "student", "Sam Student");
        await header(page).getByText("Sam Student").waitFor();
        expect(await header(page).locator("[data-role]").textContent()).toBe("student");

        // search as you type: results change without a page load, and the URL records the search
        await page.getByLabel("Search courses").pressSequentially("rust", { delay: 30 });
        await page.waitForURL("**/?q=rust*");
        await results(page).getByText("Showing 1–1 for “rust”").waitFor();
        expect(await results(page).locator("article").count()).toBe(1);
        await shot(page, "catalog-search.png");

        // a second search, then Back: the address and the results of the first come back
        await page.getByLabel("Search courses").fill("");
        await page.getByLabel("Search courses").pressSequentially("tuning", { delay: 30 });
        await page.waitForURL("**/?q=tuning*");
        await results(page).getByText("for “tuning”").waitFor();
        await page.goBack();
        await page.waitForURL("**/?q=rust*");
        await results(page).getByText("Showing 1–1 for “rust”").waitFor();
        expect(await page.getByLabel("Search courses").inputValue()).toBe("rust");

        await results(page).getByRole("link", { name: "Rust Basics" }).click();
        await page.getByRole("heading", { level: 1, name: "Rust Basics" }).waitFor();
        expect(await page.locator("#enrollment-count").textContent()).toContain("0 students enrolled");
        await page.getByRole("button", { name: "Enroll for free" }).click();
        await page.locator("#enroll-panel").getByText("You enrolled in “Rust Basics”.").waitFor();
        expect(await page.locator("#enrollment-count").textContent()).toContain("1 student enrolled");
        expect(await page.locator("#unread-badge").textContent()).toContain("1");
        await shot(page, "course-enrolled.png");

        await header(page).getByRole("link", { name: "My courses" }).click();
        await page.getByRole("heading", { name: "My courses" }).waitFor();
        await page.getByRole("list", { name: "My courses" }).getByRole("link", { name: "Rust Basics" }).waitFor();

        await header(page)
          .getByRole("link", { name: /Notifications/ })
          .click();
        const item = page.getByRole("listitem").filter({ hasText: "You enrolled in “Rust Basics”." });
        await item.waitFor();
        expect(await item.getAttribute("data-read")).toBe("false");
        await shot(page, "notifications.png");
        await item.getByRole("button", { name: "Mark as read" }).click();
        await page.locator("[data-read=true]").filter({ hasText: "Rust Basics" }).waitFor();
        expect((await page.locator("#unread-badge").textContent())?.trim()).toBe("");
        await page.reload();
        expect(await page.locator("[data-read=true]").count()).toBe(1);
      });
    },
    FLOW_TIMEOUT_MS,
  );

  test(
    "a student pays for a course: payment, enrollment and notification, and a second Enroll says already enrolled",
    async () => {
      await inBrowser("student-paid-flow", async ({ page, context }) => {
        await register(page, "student", "Pat Payer");
        await page.getByLabel("Search courses").fill("tuning");
        await results(page).getByText("for “tuning”").waitFor();
        await results(page).getByRole("link", { name: "PostgreSQL Tuning" }).click();
        await page.getByRole("heading", { level: 1, name: "PostgreSQL Tuning" }).waitFor();
        const buy = page.getByRole("button", { name: "Buy and enroll · $19.99" });

        // the same page open in a second tab, still showing the button
        const second = await context.newPage();
        await second.goto(page.url());

        await buy.click();
        await page.locator("#enroll-panel").getByText("Payment of $19.99 received.").waitFor();

        await second.getByRole("button", { name: "Buy and enroll · $19.99" }).click();
        await second.locator("#enroll-panel").getByText("You are already enrolled in this course.").waitFor();
        expect(await second.locator("#enroll-panel").textContent()).not.toContain("{");

        await page.goto("/my-courses");
        const row = page.getByRole("listitem").filter({ hasText: "PostgreSQL Tuning" });
        expect(await row.textContent()).toContain("Paid $19.99");
        expect(await page.getByRole("table").textContent()).toContain("$19.99");
        await page.goto("/notifications");
        await page.getByText("You enrolled in “PostgreSQL Tuning”. Payment of $19.99 received.").waitFor();
      });
    },
    FLOW_TIMEOUT_MS,
  );

  test(
    "an unverified teacher cannot create a course; once verified and logged in again they publish one",
    async () => {
      await inBrowser("teacher-flow", async ({ page }) => {
        const email = await register(page, "teacher", "Tess Teacher");
        await page.getByTestId("verification-pending").waitFor();
        expect(await header(page).locator("[data-role]").textContent()).toBe("teacher · unverified");
        expect(await page.locator("form[action='/courses/new']").count()).toBe(0);
        await shot(page, "teacher-pending.png");

        const me = await http("GET", `${stack.urls.identity}/me`, { token: await login(email) });
        const verified = await http("POST", `${stack.urls.identity}/users/${me.body.id}/verify`, { token: adminToken });
        expect(verified.status).toBe(200);
        await page.reload();
        await page.getByText("An admin has verified your account.").waitFor();

        await header(page).getByRole("button", { name: "Log out" }).click();
        await page.waitForURL(`${web}/`);
        await header(page).getByRole("link", { name: "Log in" }).waitFor();
        await logIn(page, email);
        await page.goto("/courses/new");

        // a mistake comes back next to its field, with what was typed kept
        await page.getByLabel("Title").fill("Teaching with HTMX");
        await page.getByLabel("Description").fill("Server-rendered pages, enhanced.");
        await page.getByLabel("Level").selectOption("intermediate");
        await page.getByLabel("Price (USD)").fill("twelve");
        await page.getByLabel("Duration (hours)").fill("4");
        await page.getByRole("button", { name: "Publish course" }).click();
        await page.locator("#price-error").waitFor();
        expect(await page.locator("#price-error").textContent()).toContain("like 19.99");
        expect(await page.getByLabel("Title").inputValue()).toBe("Teaching with HTMX");
        expect(await page.getByLabel("Level").inputValue()).toBe("intermediate");
        expect(await page.getByLabel("Price (USD)").getAttribute("aria-invalid")).toBe("true");

        await page.getByLabel("Price (USD)").fill("12.50");
        await page.getByRole("button", { name: "Publish course" }).click();
        await page.getByRole("heading", { level: 1, name: "Teaching with HTMX" }).waitFor();
        expect(await page.getByText("$12.50").count()).toBeGreaterThan(0);

        await page.goto("/");
        await page.getByLabel("Search courses").fill("htmx");
        await results(page).getByText("for “htmx”").waitFor();
        await results(page).getByRole("link", { name: "Teaching with HTMX" }).waitFor();
      });
    },
    FLOW_TIMEOUT_MS,
  );

  test(
    "logout clears the login cookie and signed-in pages send to the login page",
    async () => {
      await inBrowser("logout", async ({ page, context }) => {
        await register(page, "student", "Lou Logout");
        const cookie = (await context.cookies()).find((c) => c.name === "lab_session");
        expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax" });
        expect(await page.evaluate(() => document.cookie)).toBe("");
        await header(page).getByRole("button", { name: "Log out" }).click();
        await header(page).getByRole("link", { name: "Log in" }).waitFor();
        expect((await context.cookies()).find((c) => c.name === "lab_session")).toBeUndefined();
        await page.goto("/my-courses");
        expect(new URL(page.url()).pathname).toBe("/login");
        expect(new URL(page.url()).searchParams.get("next")).toBe("/my-courses");
      });
    },
    FLOW_TIMEOUT_MS,
  );

  test(
    "a course titled <script>alert(1)</script> shows as text and runs nothing",
    async () => {
      await inBrowser("xss-title", async ({ page }) => {
        await page.goto("/?q=alert");
        const card = results(page).locator("article");
        expect(await card.count()).toBe(1);
        expect(await card.getByRole("link").textContent()).toBe("<script>alert(1)</script>");
        expect(await card.textContent()).toContain("<img src=x onerror=alert(2)> is just text here.");
        await card.getByRole("link").click();
        expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("<script>alert(1)</script>");
        expect(await page.title()).toContain("<script>alert(1)</script>");
        expect(await page.locator("main script, main img").count()).toBe(0);
      });
    },
    FLOW_TIMEOUT_MS,
  );

  test(
    "on a phone the catalog fits the screen, and the keyboard alone reaches and submits the search",
    async () => {
      await inBrowser(
        "phone-keyboard",
        async ({ page }) => {
          await page.goto("/");
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          expect(overflow).toBeLessThanOrEqual(0);
          await shot(page, "catalog-phone.png", false);

          await page.keyboard.press("Tab");
          expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe("Skip to content");
          await page.getByLabel("Search courses").focus();
          await page.keyboard.type("postgres");
          await page.keyboard.press("Enter");
          await results(page).getByText("for “postgres”").waitFor();
          await page.waitForURL("**/?q=postgres*");
        },
        { viewport: { width: 390, height: 844 } },
      );
    },
    FLOW_TIMEOUT_MS,
  );

  test(
    "with JavaScript disabled, search, paging, login and enrolling work as plain pages and forms",
    async () => {
      await inBrowser(
        "no-javascript",
        async ({ page }) => {
          await page.goto("/");
          await page.getByLabel("Search courses").fill("filler");
          await page.getByLabel("Search courses").press("Enter");
          await page.waitForURL("**/?q=filler*");
          expect(await results(page).locator("article").count()).toBe(12);
          await page.getByRole("link", { name: "Next →" }).click();
          await page.waitForURL("**/?q=filler&offset=12");
          expect(await results(page).locator("article").count()).toBe(1);
          await shot(page, "catalog-no-javascript.png");

          await page.goto("/register");
          await page.getByRole("button", { name: "Create account" }).click();
          expect(await page.locator("#full_name-error").textContent()).toContain("Enter your name");
          await page.getByLabel("Full name").fill("Nora NoScript");
          await page.getByLabel("Email").fill("not-an-email");
          await page.getByLabel("Password").fill(PASSWORD);
          await page.getByRole("button", { name: "Create account" }).click();
          expect(await page.locator("#email-error").textContent()).toContain("valid email");
          expect(await page.getByLabel("Full name").inputValue()).toBe("Nora NoScript");
          await page.getByLabel("Email").fill(`nora-${Date.now()}@lab.test`);
          await page.getByLabel("Password").fill(PASSWORD);
          await page.getByRole("button", { name: "Create account" }).click();
          await page.waitForURL(`${web}/`);

          await page.goto("/?q=rust");
          await results(page).getByRole("link", { name: "Rust Basics" }).click();
          await page.getByRole("button", { name: "Enroll for free" }).click();
          await page.locator("#enroll-panel").getByText("You are enrolled in this course.").waitFor();
          await page.goto("/notifications");
          await page.getByRole("button", { name: "Mark as read" }).click();
          await page.waitForURL("**/notifications");
          expect(await page.locator("[data-read=true]").count()).toBe(1);
        },
        { javaScript: false },
      );
    },
    FLOW_TIMEOUT_MS,
  );
});

describe("Lab page", () => {
  test(
    "shows the flags and, under load, live numbers per service with charts drawn on the server, refreshed by HTMX",
    async () => {
      // A browsing mix over every service, mostly answered 200, with an unknown course (404) and a
      // missing token (401) now and then so the error columns and chart have something to show.
      const registered = await http("POST", `${stack.urls.identity}/register`, {
        body: { email: "lab-student@lab.test", password: PASSWORD, full_name: "Lab Student", role: "student" },
      });
      expect(registered.status).toBe(201);
      const token = await login("lab-student@lab.test");
      const { id: courseId } = await createCourse("Lab Page Course", 0);
      const auth = { headers: { authorization: `Bearer ${token}` } };
      let loading = true;
      let round = 0;
      const load = (async () => {
        while (loading) {
          round++;
          await Promise.all([
            fetch(`${stack.urls.course}/courses?limit=5`),
            fetch(`${stack.urls.course}/courses/${courseId}`),
            fetch(`${stack.urls.course}/courses?q=rust`),
            fetch(`${stack.urls.identity}/me`, auth),
            fetch(`${stack.urls.enrollment}/enrollments/course/${courseId}/count`),
            fetch(`${stack.urls.payment}/payments/me`, auth),
            fetch(`${stack.urls.notification}/notifications/me`, auth),
            round % 10 === 0 ? fetch(`${stack.urls.course}/courses/987654`) : undefined,
            round % 20 === 0 ? fetch(`${stack.urls.identity}/me`) : undefined,
          ]);
        }
      })();
      try {
        await inBrowser("lab", async ({ page }) => {
          await page.goto("/lab");
          const course = page.locator('[data-testid="lab-summary"] [data-service="course"]');
          expect(await page.locator('[data-testid="lab-flags"]').textContent()).toContain("SEARCH_INDEX");
          // The first reading is the page itself; the HTMX polls every 2 s bring the rates and the charts.
          const polls: string[] = [];
          page.on("response", (response) => {
            if (response.url().endsWith("/lab/live")) polls.push(response.url());
          });
          await page.locator('#lab-live figure[data-chart="latency"] svg').waitFor({ timeout: 15_000 });
          expect(polls.length).toBeGreaterThan(0);
          expect(Number(await course.locator("td").first().textContent())).toBeGreaterThan(0);
          expect(await course.locator("td").nth(4).textContent()).toMatch(/^\d+\.\d %$/);
          expect(await page.locator("#lab-live svg").count()).toBe(3);
          // a few more polls, so the screenshot shows lines rather than single points
          const enough = polls.length + 3;
          while (polls.length < enough) await page.waitForTimeout(250);
          await shot(page, "lab.png");
        });
      } finally {
        loading = false;
        await load;
      }
    },
    FLOW_TIMEOUT_MS,
  );
});

/**
 * What Lighthouse's SEO and accessibility audits ask of every page: a meta description of its own,
 * and links inside running text told apart without colour (underlined). A link "in text" is an inline
 * one whose nearest block holds text besides it, as axe's link-in-text-block rule has it. Last in the
 * file: its visit to /lab starts the Lab page's sampling, which the Lab page's test wants to see begin.
 */
async function pageFacts(page: Page) {
  return page.evaluate(() => {
    const description = document.querySelector('meta[name="description"]')?.getAttribute("content") ?? "";
    const notUnderlined: string[] = [];
    for (const link of document.querySelectorAll("a")) {
      const style = getComputedStyle(link);
      const box = link.getBoundingClientRect();
      if (style.display !== "inline" || style.visibility === "hidden" || box.width <= 1 || box.height <= 1) continue;
      let block = link.parentElement;
      while (block && getComputedStyle(block).display === "inline") block = block.parentElement;
      const text = (element: HTMLElement | null) => (element?.textContent ?? "").replace(/\s+/g, "");
      if (text(block).length <= text(link).length) continue;
      if (!style.textDecorationLine.includes("underline")) notUnderlined.push((link.textContent ?? "").trim());
    }
    return { description, notUnderlined };
  });
}

describe("every page, as Lighthouse audits it", () => {
  test(
    "has a meta description of its own, and its links in text are underlined",
    async () => {
      await inBrowser("lighthouse-rules", async ({ page, context }) => {
        const seen = new Map<string, string>();
        const check = async (path: string) => {
          await page.goto(path);
          const { description, notUnderlined } = await pageFacts(page);
          expect({ path, notUnderlined }).toEqual({ path, notUnderlined: [] });
          expect(description.length, `${path}: meta description`).toBeGreaterThan(50);
          expect(description.length, `${path}: meta description`).toBeLessThan(170);
          seen.set(path, description);
        };

        await page.goto("/?q=rust");
        const course = await results(page).getByRole("link", { name: "Rust Basics" }).getAttribute("href");
        for (const path of ["/", "/?q=rust", course as string, "/login", "/register", "/lab", "/no-such-page"]) {
          await check(path);
        }
        expect(seen.get(course as string)).toContain("Rust Basics");

        await register(page, "student", "Lena Lighthouse");
        for (const path of ["/my-courses", "/notifications"]) await check(path);
        await context.clearCookies();
        await logIn(page, "grace@lab.test");
        await check("/courses/new");

        // one description per page: no two pages say the same
        expect(new Set(seen.values()).size).toBe(seen.size);
      });
    },
    FLOW_TIMEOUT_MS,
  );
});
