import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseEnv, SERVICE_NAMES, ServiceClient, type ServiceName, serviceUrlVar } from "@lab/shared";
import { WEB_ROUTES, type WebPath, type WebRoute, webLinks } from "@lab/shared/ui";
import type { AnyElysia } from "elysia";
import { freePort } from "../../scripts/lib/postgres";
import { UserService } from "../../services/identity/src/users/service";
import { type Platform, startPlatform } from "../../test/reliability/platform";
import { webApp } from "../src/app";
import { type Assets, buildAssets } from "../src/assets";

/**
 * The web app in-process (app.handle) over the five real services, each on its own database and
 * listening on a free port as in production.
 */
let platform: Platform;
let assets: Assets;
let web: AnyElysia;

/** A web app whose services are at `overrides` where given (e.g. a closed port for a service that is down). */
function webWith(overrides: Partial<Record<ServiceName, string>> = {}) {
  const env = Object.fromEntries(
    SERVICE_NAMES.map((name) => [serviceUrlVar(name), overrides[name] ?? platform.urls[name]]),
  );
  const config = parseEnv({ ...env, UPSTREAM_TIMEOUT_MS: "1000" }, 3000);
  return webApp({ config, services: new ServiceClient(config), assets });
}

/** Every request the services received, as "service METHOD /path": what one click costs, counted. */
const received: string[] = [];

beforeAll(async () => {
  platform = await startPlatform({}, (service, request) => {
    received.push(`${service} ${request.method} ${new URL(request.url).pathname}`);
  });
  assets = await buildAssets();
  web = webWith();
  const users = new UserService(platform.harness.identity.db, { secret: "unused", ttlSeconds: 60 });
  await users.create({
    email: "grace@lab.test",
    password: PASSWORD,
    full_name: "Grace",
    role: "teacher",
    is_verified: true,
  });
}, 30_000);

afterAll(() => platform.close());

const PASSWORD = "web-test-password";
const ORIGIN = "http://localhost";

type Answer = { status: number; headers: Headers; text: string };
async function call(
  app: AnyElysia,
  method: string,
  path: string,
  options: { cookie?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.cookie) headers.cookie = options.cookie;
  let body: string | undefined;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
    headers.origin ??= ORIGIN;
  }
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] = "application/json";
    headers.origin ??= ORIGIN;
  }
  const response = await app.handle(new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: "manual" }));
  return { status: response.status, headers: response.headers, text: await response.text() };
}

let accounts = 0;
/** Registers through the web form and returns the login cookie it sets. */
async function signUp(role: "student" | "teacher", name = "Web Tester") {
  const email = `${role}${++accounts}@web.test`;
  const answer = await call(web, "POST", "/register", { form: { email, password: PASSWORD, full_name: name, role } });
  expect(answer.status).toBe(303);
  return { email, cookie: cookieOf(answer) };
}
/** A click on Enroll with a new idempotency key (as a new tab's form has), through HTMX or without JavaScript. */
const clickEnroll = (cookie: string, courseId: number, via: "htmx" | "form") =>
  call(web, "POST", `/courses/${courseId}/enroll`, {
    cookie,
    form: { idempotency_key: crypto.randomUUID() },
    headers: via === "htmx" ? { "hx-request": "true" } : {},
  });

/** The id in the recorded "payment GET /payments/:id" call. */
const paymentIdIn = (calls: string[]) =>
  calls
    .find((line) => line.startsWith("payment GET /payments/"))
    ?.split("/")
    .pop();
const cookieOf = (answer: Answer) => (answer.headers.get("set-cookie") ?? "").split(";")[0] as string;

async function signIn(email: string) {
  const answer = await call(web, "POST", "/login", { form: { email, password: PASSWORD, next: "/" } });
  expect(answer.status).toBe(303);
  return cookieOf(answer);
}

async function createCourse(title: string, price: string) {
  const cookie = await signIn("grace@lab.test");
  const answer = await call(web, "POST", "/courses/new", {
    cookie,
    form: { title, description: "About it", level: "beginner", price, duration_hours: "2" },
  });
  expect(answer.status).toBe(303);
  return Number(answer.headers.get("location")?.split("/").pop());
}

describe("pages and assets", () => {
  test("every answer carries the security headers; pages are never cached and vary by HX-Request", async () => {
    const page = await call(web, "GET", "/");
    expect(page.status).toBe(200);
    expect(page.text).toStartWith("<!doctype html>");
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("same-origin");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("vary")).toContain("HX-Request");
    const missing = await call(web, "GET", "/no-such-page");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-frame-options")).toBe("DENY");
    expect(missing.text).toContain("There is no page at this address.");
  });

  test("the page loads htmx 4.0.1 and the compiled CSS from this server, cached for a year", async () => {
    const page = await call(web, "GET", "/");
    expect(page.text).toContain(`<script src="${assets.htmx.path}" defer></script>`);
    expect(assets.htmx.path).toBe("/assets/htmx-4.0.1.min.js");
    expect(page.text).toContain(`<link rel="stylesheet" href="${assets.css.path}"/>`);
    const css = await call(web, "GET", assets.css.path);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toStartWith("text/css");
    expect(css.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    // classes of the UI kit's components, which render the services' fragments, made it into the one CSS file
    expect(css.text).toContain(".line-clamp-2");
    expect(css.text).toContain(".error");
    const script = await call(web, "GET", assets.htmx.path);
    expect(script.headers.get("content-type")).toStartWith("text/javascript");
    expect(script.text).toContain("4.0.1");
    expect((await call(web, "GET", "/assets/other.js")).status).toBe(404);
  });
});

describe("the web app's routes", () => {
  /** One link of each kind, built by the kit: a route added to WEB_ROUTES needs one here. */
  const LINKS: Record<WebRoute, WebPath> = {
    catalog: webLinks.catalog({ q: "rust", level: "beginner", offset: 12 }),
    login: webLinks.login(webLinks.course(7)),
    register: webLinks.register(),
    logout: webLinks.logout(),
    newCourse: webLinks.newCourse(),
    course: webLinks.course(7),
    enroll: webLinks.enroll(7),
    myCourses: webLinks.myCourses({ offset: 20 }),
    notifications: webLinks.notifications(),
    readNotification: webLinks.readNotification(3),
    lab: webLinks.lab(),
    labLive: webLinks.labLive(),
  };
  const matches = (pattern: string, path: string) =>
    new RegExp(`^${pattern.replace(/:\w+/g, "[^/]+")}$`).test(new URL(path, ORIGIN).pathname);

  test("every route of the kit's table is one the app serves, and each link builder builds its route", () => {
    const served = web.routes.map((route) => route.path);
    for (const [name, pattern] of Object.entries(WEB_ROUTES) as [WebRoute, string][]) {
      expect(served, name).toContain(pattern);
      expect(matches(pattern, LINKS[name]), `${name}: ${LINKS[name]}`).toBe(true);
    }
  });

  test("the pages behind the GET links answer (a visitor is sent to log in), never 404", async () => {
    for (const name of ["catalog", "login", "register", "newCourse", "myCourses", "notifications", "lab"] as const) {
      const answer = await call(web, "GET", LINKS[name]);
      expect([200, 303], `${name}: ${LINKS[name]}`).toContain(answer.status);
    }
  });
});

describe("catalog", () => {
  let xssId: number;
  beforeAll(async () => {
    xssId = await createCourse("<script>alert(1)</script>", "0");
    await createCourse("Gardening for coders", "5");
  });

  test("HTMX gets the results fragment alone; a history restore and a plain request get the whole page", async () => {
    const fragment = await call(web, "GET", "/?q=garden", { headers: { "hx-request": "true" } });
    expect(fragment.status).toBe(200);
    expect(fragment.text).not.toContain("<html");
    expect(fragment.text).toContain("Gardening for coders");
    expect(fragment.text).toContain("$5.00");
    const restore = await call(web, "GET", "/?q=garden", {
      headers: { "hx-request": "true", "hx-history-restore-request": "true" },
    });
    expect(restore.text).toStartWith("<!doctype html>");
    const plain = await call(web, "GET", "/?q=garden");
    expect(plain.text).toContain('value="garden"');
    expect(plain.text).toContain("Gardening for coders");
    expect(plain.text).not.toContain("alert(1)");
  });

  test("a <script> title is text on the catalog and the course page, in the title bar too", async () => {
    const catalog = await call(web, "GET", "/?q=alert");
    expect(catalog.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(catalog.text).not.toContain("<script>alert");
    const page = await call(web, "GET", `/courses/${xssId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain("<title>&lt;script&gt;alert(1)&lt;/script&gt; · Coursework Lab</title>");
    expect(page.text).toContain(
      '<meta name="description" content="&lt;script&gt;alert(1)&lt;/script&gt;: a free course',
    );
    expect(page.text).not.toContain("<script>alert");
  });

  test("an unknown or malformed course id is a 404 page", async () => {
    for (const path of ["/courses/999999", "/courses/abc", "/courses/0"]) {
      const answer = await call(web, "GET", path);
      expect(answer.status).toBe(404);
      expect(answer.text).toContain("<!doctype html>");
    }
  });
});

describe("accounts and the login cookie", () => {
  test("register logs in with an HttpOnly, SameSite=Lax cookie holding the JWT", async () => {
    const answer = await call(web, "POST", "/register", {
      form: { email: "cookie@web.test", password: PASSWORD, full_name: "Cookie", role: "student" },
    });
    expect(answer.status).toBe(303);
    expect(answer.headers.get("location")).toBe("/");
    const cookie = answer.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^lab_session=[\w-]+\.[\w-]+\.[\w-]+;/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toContain("Path=/");
    const home = await call(web, "GET", "/", { cookie: cookieOf(answer) });
    expect(home.text).toContain('data-role="student"');
    expect(home.text).toContain("My courses");
  });

  test("validation errors come back next to their field with the typed values kept, never the password", async () => {
    const answer = await call(web, "POST", "/register", {
      form: { email: "not-an-email", password: "short", full_name: "Kept <Name>", role: "student" },
    });
    expect(answer.status).toBe(422);
    expect(answer.text).toContain('id="email-error"');
    expect(answer.text).toContain('id="password-error"');
    expect(answer.text).toContain("Use at least 8 characters");
    expect(answer.text).toContain('value="Kept <Name>"');
    expect(answer.text).toContain('value="not-an-email"');
    expect(answer.text).not.toContain('value="short"');
    expect(answer.text).toContain('aria-invalid="true"');
  });

  test("a taken email is said next to the email field", async () => {
    const { email } = await signUp("student");
    const answer = await call(web, "POST", "/register", {
      form: { email, password: PASSWORD, full_name: "Again", role: "student" },
    });
    expect(answer.status).toBe(409);
    expect(answer.text).toContain('id="email-error"');
    expect(answer.text).toContain("already registered");
  });

  test("a wrong password is one message for the form; the email stays", async () => {
    const { email } = await signUp("student");
    const answer = await call(web, "POST", "/login", { form: { email, password: "wrong password", next: "/" } });
    expect(answer.status).toBe(401);
    expect(answer.text).toContain("Invalid email or password.");
    expect(answer.text).toContain(`value="${email}"`);
    expect(answer.headers.get("set-cookie")).toBeNull();
  });

  test("login only redirects to a path of this site", async () => {
    const { email } = await signUp("student");
    for (const [next, location] of [
      ["/my-courses", "/my-courses"],
      ["//evil.example/x", "/"],
      ["https://evil.example/", "/"],
      // a URL parser drops the tab and reads \ as /: both are //evil.example/
      ["/\t/evil.example", "/"],
      ["/\t\\evil.example/", "/"],
      ["/a\r\nSet-Cookie: x=1", "/"],
    ]) {
      const answer = await call(web, "POST", "/login", { form: { email, password: PASSWORD, next: next as string } });
      expect(answer.status, JSON.stringify(next)).toBe(303);
      expect(answer.headers.get("location")).toBe(location as string);
    }
    const form = await call(web, "GET", `/login?next=${encodeURIComponent("/\t/evil.example")}`);
    expect(form.text).toContain('name="next" value="/"');
  });

  test("signed-in pages send a visitor to the login page, and HTMX gets an HX-Redirect", async () => {
    const page = await call(web, "GET", "/my-courses");
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login?next=%2Fmy-courses");
    const htmx = await call(web, "GET", "/notifications", { headers: { "hx-request": "true" } });
    expect(htmx.headers.get("hx-redirect")).toBe("/login?next=%2Fnotifications");
    const forged = await call(web, "GET", "/my-courses", { cookie: "lab_session=not.a.token" });
    expect(forged.status).toBe(303);
  });

  test("a page for another role says so", async () => {
    const { cookie } = await signUp("teacher");
    const answer = await call(web, "GET", "/my-courses", { cookie });
    expect(answer.status).toBe(403);
    expect(answer.text).toContain("This page is for student accounts.");
  });

  test("logout clears the cookie", async () => {
    const answer = await call(web, "POST", "/logout", { form: {} });
    expect(answer.status).toBe(303);
    expect(answer.headers.get("set-cookie")).toContain("lab_session=;");
    expect(answer.headers.get("set-cookie")).toContain("Max-Age=0");
  });
});

describe("metrics", () => {
  test("a form whose body does not parse is counted under its route, not as unmatched", async () => {
    const broken = await web.handle(
      new Request(`${ORIGIN}/login`, {
        method: "POST",
        headers: { origin: ORIGIN, "content-type": "application/json" },
        body: "{",
      }),
    );
    expect(broken.status).toBe(400);
    const scrape = await call(web, "GET", "/metrics");
    expect(scrape.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/login",status="400"/);
  });
});

describe("CSRF", () => {
  test("a state-changing request from another site is refused, before it reaches any service", async () => {
    const { cookie } = await signUp("student");
    const crossSite: Record<string, string>[] = [{ origin: "http://evil.example" }, { "sec-fetch-site": "cross-site" }];
    for (const headers of crossSite) {
      const answer = await call(web, "POST", "/logout", { cookie, form: {}, headers });
      expect(answer.status).toBe(403);
      expect(answer.headers.get("set-cookie")).toBeNull();
    }
    const proxied = await call(web, "POST", "/api/notification/notifications", {
      cookie,
      json: { type: "csrf", message: "forged" },
      headers: { "sec-fetch-site": "same-site" },
    });
    expect(proxied.status).toBe(403);
  });

  test("the same site's requests pass", async () => {
    const sameSite: Record<string, string>[] = [{ origin: ORIGIN }, { "sec-fetch-site": "same-origin" }];
    for (const headers of sameSite) {
      expect((await call(web, "POST", "/logout", { form: {}, headers })).status).toBe(303);
    }
  });
});

describe("/api proxy", () => {
  test("the login cookie becomes Authorization: Bearer for the service", async () => {
    const { email, cookie } = await signUp("student", "Proxy User");
    const me = await call(web, "GET", "/api/identity/me", { cookie });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.text)).toMatchObject({ email, full_name: "Proxy User", role: "student" });
    const anonymous = await call(web, "GET", "/api/identity/me");
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.text).error).toBe("unauthorized");
  });

  test("bodies and query strings pass through, and HTMX gets the service's fragment", async () => {
    const { cookie } = await signUp("student");
    const created = await call(web, "POST", "/api/notification/notifications", {
      cookie,
      json: { type: "proxy.test", message: "Sent through the proxy" },
    });
    expect(created.status).toBe(201);
    expect(JSON.parse(created.text).message).toBe("Sent through the proxy");
    const invalid = await call(web, "POST", "/api/notification/notifications", { cookie, json: { type: "x" } });
    expect(invalid.status).toBe(422);
    const list = await call(web, "GET", "/api/course/courses?q=garden&limit=1", { headers: { "hx-request": "true" } });
    expect(list.status).toBe(200);
    expect(list.headers.get("content-type")).toStartWith("text/html");
    expect(list.text).toContain("Gardening for coders");
  });

  test("the service's path is the route's own rest, however the service's name is spelled", async () => {
    const me = await call(web, "GET", "/api/%69dentity/me");
    expect(me.status).toBe(401);
    expect(JSON.parse(me.text).error).toBe("unauthorized");
    const list = await call(web, "GET", "/api/%63ourse/courses?q=garden&limit=1");
    expect(list.status).toBe(200);
  });

  test("only the API passes: metrics, OpenAPI and health checks stay inside the platform", async () => {
    const outside = [
      "/api/course/metrics",
      "/api/identity/swagger",
      "/api/identity/swagger/json",
      "/api/course/swagger/ui/swagger-ui.css",
      "/api/payment/healthz",
      "/api/enrollment/readyz",
      "/api/course/courses/../metrics",
      "/api/course/courses/%2e%2e/metrics",
      "/api/course/%6detrics",
      "/api/course/",
    ];
    for (const path of outside) {
      received.length = 0;
      const answer = await call(web, "GET", path);
      expect(answer.status, path).toBe(404);
      expect(JSON.parse(answer.text).error, path).toBe("not_found");
      expect(received, path).toEqual([]);
    }
  });

  test("every route of each service's OpenAPI document but the ops ones reaches the service", async () => {
    for (const service of SERVICE_NAMES) {
      const document = (await (await fetch(`${platform.urls[service]}/swagger/json`)).json()) as {
        paths: Record<string, Record<string, { tags?: string[] }>>;
      };
      for (const [template, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          if (operation.tags?.includes("ops")) continue;
          const path = template.replaceAll(/\{\w+\}/g, "1");
          received.length = 0;
          await call(web, method.toUpperCase(), `/api/${service}${path}`, { headers: { origin: ORIGIN } });
          expect(received, `${method} ${template}`).toEqual([`${service} ${method.toUpperCase()} ${path}`]);
        }
      }
    }
  });

  test("an unknown service is a 404 and a service that is down a readable 503", async () => {
    expect((await call(web, "GET", "/api/nothing/x")).status).toBe(404);
    const down = webWith({ course: `http://127.0.0.1:${freePort()}` });
    const json = await call(down, "GET", "/api/course/courses");
    expect(json.status).toBe(503);
    expect(JSON.parse(json.text).message).toContain("course catalog service is not answering");
    const fragment = await call(down, "GET", "/api/course/courses", { headers: { "hx-request": "true" } });
    expect(fragment.text).toContain('role="alert"');
  });
});

describe("courses for teachers", () => {
  test("an unverified teacher sees verification pending and cannot submit a course", async () => {
    const { cookie } = await signUp("teacher");
    const page = await call(web, "GET", "/courses/new", { cookie });
    expect(page.status).toBe(403);
    expect(page.text).toContain("Verification pending.");
    expect(page.text).not.toContain('action="/courses/new"');
    const post = await call(web, "POST", "/courses/new", {
      cookie,
      form: { title: "Sneaky", description: "", level: "beginner", price: "0", duration_hours: "1" },
    });
    expect(post.status).toBe(403);
    const list = await call(web, "GET", "/?q=sneaky");
    expect(list.text).not.toContain("Sneaky");
  });

  test("course form errors show next to their fields, with every typed value kept", async () => {
    const cookie = await signIn("grace@lab.test");
    const answer = await call(web, "POST", "/courses/new", {
      cookie,
      form: { title: "Kept title", description: "Kept text", level: "advanced", price: "1.999", duration_hours: "0" },
    });
    expect(answer.status).toBe(422);
    expect(answer.text).toContain('id="price-error"');
    expect(answer.text).toContain('id="duration_hours-error"');
    expect(answer.text).toContain('value="Kept title"');
    expect(answer.text).toContain("Kept text</textarea>");
    expect(answer.text).toContain('<option value="advanced" selected>');
    const tooLong = await call(web, "POST", "/courses/new", {
      cookie,
      form: { title: "x".repeat(201), description: "", level: "beginner", price: "0", duration_hours: "1" },
    });
    expect(tooLong.status).toBe(422);
    expect(tooLong.text).toContain('id="title-error"');
  });
});

describe("enrolling", () => {
  let freeId: number;
  let paidId: number;
  beforeAll(async () => {
    freeId = await createCourse("Free web course", "0");
    paidId = await createCourse("Paid web course", "12.50");
  });

  test("with HTMX the Enroll panel, the new count and the unread badge come back together", async () => {
    const { cookie } = await signUp("student");
    const answer = await clickEnroll(cookie, freeId, "htmx");
    expect(answer.status).toBe(201);
    expect(answer.text).toStartWith('<div id="enroll-panel"');
    expect(answer.text).toContain("You enrolled in “Free web course”.");
    expect(answer.text).toContain('<p id="enrollment-count" class="text-sm text-slate-600" hx-swap-oob="true">');
    expect(answer.text).toContain("1 student enrolled");
    expect(answer.text).toContain('<span id="unread-badge" hx-swap-oob="true">');
  });

  test("without JavaScript a paid enrollment redirects back to the course page, which shows it", async () => {
    const { cookie } = await signUp("student");
    const key = crypto.randomUUID();
    const answer = await call(web, "POST", `/courses/${paidId}/enroll`, { cookie, form: { idempotency_key: key } });
    expect(answer.status).toBe(303);
    expect(answer.headers.get("location")).toBe(`/courses/${paidId}`);
    const page = await call(web, "GET", `/courses/${paidId}`, { cookie });
    expect(page.text).toContain('data-enrolled="true"');
    const payments = await call(web, "GET", "/api/payment/payments/me", { cookie });
    expect(JSON.parse(payments.text).items).toHaveLength(1);
    const notifications = await call(web, "GET", "/notifications", { cookie });
    expect(notifications.text).toContain("You enrolled in “Paid web course”. Payment of $12.50 received.");
  });

  test("enrolling again is refused in words, and a paid course is not charged twice", async () => {
    const { cookie } = await signUp("student");
    await clickEnroll(cookie, paidId, "form");
    const again = await clickEnroll(cookie, paidId, "htmx");
    expect(again.status).toBe(409);
    expect(again.text).toContain("You are already enrolled in this course.");
    const payments = await call(web, "GET", "/api/payment/payments/me", { cookie });
    expect(JSON.parse(payments.text).items).toHaveLength(1);
  });

  test("one paid click costs each service call once: a course read by the web app and by enrollment", async () => {
    const { cookie } = await signUp("student");
    const free = await call(web, "POST", `/courses/${freeId}/enroll`, { cookie, form: {} });
    expect(free.status).toBe(303);
    received.length = 0;
    const answer = await clickEnroll(cookie, paidId, "htmx");
    expect(answer.status).toBe(201);
    expect(received.sort()).toEqual(
      [
        `course GET /courses/${paidId}`, // the web app: price and title
        `enrollment GET /enrollments/me/course/${paidId}`, // the web app: not charged if already enrolled
        "payment POST /payments",
        "enrollment POST /enrollments",
        `course GET /courses/${paidId}`, // enrollment: the price it checks the payment against
        "payment GET /payments/1",
        "notification POST /notifications",
        `enrollment GET /enrollments/course/${paidId}/count`, // the fragment's new count
        "notification GET /notifications/me", // and unread badge
      ]
        .map((line) => line.replace("/payments/1", `/payments/${paymentIdIn(received)}`))
        .sort(),
    );
  });

  test("a student with over 100 enrollments retrying from a second tab gets a 409 and is not charged again", async () => {
    const { cookie } = await signUp("student");
    const first = await clickEnroll(cookie, paidId, "form");
    expect(first.status).toBe(303);
    const studentId = Number(JSON.parse(atob(cookie.split(".")[1] as string)).sub);
    // 101 newer enrollments than the paid one, so it is not among the newest 100
    await platform.harness.enrollment.db.query`
      INSERT INTO enrollments (student_id, course_id, price_cents, created_at)
      SELECT ${studentId}, 1000000 + n, 0, now() + n * interval '1 second' FROM generate_series(1, 101) AS n`;
    const paymentsOf = async () =>
      (
        await platform.harness.payment.db.query<{ n: number }>`
        SELECT count(*)::int AS n FROM payments WHERE student_id = ${studentId}`
      )[0]?.n;
    expect(await paymentsOf()).toBe(1);

    const secondTab = await clickEnroll(cookie, paidId, "htmx");
    expect(secondTab.status).toBe(409);
    expect(secondTab.text).toContain("You are already enrolled in this course.");
    expect(await paymentsOf()).toBe(1);
  });

  test("a payment service that is down is a readable message in the panel, with the same key for the retry", async () => {
    const { cookie } = await signUp("student");
    const key = crypto.randomUUID();
    const down = webWith({ payment: `http://127.0.0.1:${freePort()}` });
    const answer = await call(down, "POST", `/courses/${paidId}/enroll`, { cookie, form: { idempotency_key: key } });
    expect(answer.status).toBe(503);
    expect(answer.text).toStartWith("<!doctype html>");
    expect(answer.text).toContain("The payment service is not answering right now.");
    expect(answer.text).toContain(`name="idempotency_key" value="${key}"`);
    const mine = await call(web, "GET", "/api/enrollment/enrollments/me", { cookie });
    expect(JSON.parse(mine.text).items).toHaveLength(0);
  });

  test("students only: another role is told, and a visitor is sent to log in", async () => {
    const { cookie } = await signUp("teacher");
    const teacher = await call(web, "POST", `/courses/${freeId}/enroll`, { cookie, form: {} });
    expect(teacher.status).toBe(403);
    const visitor = await call(web, "POST", `/courses/${freeId}/enroll`, { form: {} });
    expect(visitor.status).toBe(303);
    expect(visitor.headers.get("location")).toBe("/login?next=%2F");
  });
});

describe("notifications", () => {
  test("mark as read: HTMX gets the read item and the badge out-of-band; without JavaScript a redirect", async () => {
    const { cookie } = await signUp("student");
    const ids: number[] = [];
    for (const message of ["One", "Two"]) {
      const made = await call(web, "POST", "/api/notification/notifications", {
        cookie,
        json: { type: "test", message },
      });
      ids.push(JSON.parse(made.text).id);
    }
    const page = await call(web, "GET", "/notifications", { cookie });
    expect(page.text).toContain('<span class="badge">2');
    const htmx = await call(web, "POST", `/notifications/${ids[0]}/read`, {
      cookie,
      form: {},
      headers: { "hx-request": "true" },
    });
    expect(htmx.status).toBe(200);
    expect(htmx.text).toStartWith(`<li id="notification-${ids[0]}"`);
    expect(htmx.text).toContain('data-read="true"');
    expect(htmx.text).toContain('<span id="unread-badge" hx-swap-oob="true"><span class="badge">1');
    const plain = await call(web, "POST", `/notifications/${ids[1]}/read`, { cookie, form: {} });
    expect(plain.status).toBe(303);
    expect(plain.headers.get("location")).toBe("/notifications");
    const other = await signUp("student");
    const foreign = await call(web, "POST", `/notifications/${ids[0]}/read`, { cookie: other.cookie, form: {} });
    expect(foreign.status).toBe(404);
    expect(foreign.text).toContain("<!doctype html>");
  });
});
