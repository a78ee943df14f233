import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseEnv, SERVICE_NAMES, ServiceClient } from "@lab/shared";
import { parseSamples } from "@lab/shared/exposition";
import type { Elysia } from "elysia";
import { freePort } from "../../scripts/lib/postgres";
import { courseApp } from "../../services/course/src/app";
import { webApp } from "../../web-htmx/src/app";
import { buildAssets } from "../../web-htmx/src/assets";
import { type Harness, serviceHarness } from "../support";

describe("the web app's /lab, /lab/live and /metrics", () => {
  let course: Harness;
  let app: Elysia;
  beforeAll(async () => {
    course = await serviceHarness("course", join(import.meta.dir, "../../services/course/migrations"), courseApp);
    course.app.listen({ hostname: "127.0.0.1", port: 0 });
    const closed = `http://127.0.0.1:${freePort()}`;
    const urls = Object.fromEntries(SERVICE_NAMES.map((name) => [`${name.toUpperCase()}_URL`, closed]));
    const config = parseEnv({ ...urls, COURSE_URL: `http://127.0.0.1:${course.app.server!.port}` }, 3000);
    const context = { config, services: new ServiceClient(config, 500), assets: await buildAssets() };
    app = webApp(context) as unknown as Elysia;
  }, 20_000);
  afterAll(async () => {
    await course.app.stop(true);
    await course.close();
  });

  test("the page has the layout, every service, the course service's flags and the polling part", async () => {
    const response = await app.handle(new Request("http://localhost/lab"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const html = await response.text();
    expect(html).toStartWith("<!doctype html>");
    expect(html).toContain("<title>Lab · Coursework Lab</title>");
    for (const name of SERVICE_NAMES) expect(html).toContain(`data-service="${name}"`);
    expect(html).toContain('hx-trigger="every 2s"');
    expect(html).toMatch(/<th[^>]*>course<\/th><td[^>]*>none<\/td>/);
  });

  test("the polled fragment is the live part alone", async () => {
    const response = await app.handle(new Request("http://localhost/lab/live", { headers: { "hx-request": "true" } }));
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).not.toContain("<html");
    expect(html).toContain('data-testid="lab-summary"');
  });

  test("the web app has its own /metrics, with the Lab page's requests by route", async () => {
    await app.handle(new Request("http://localhost/lab/live"));
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    const samples = parseSamples(await (await app.handle(new Request("http://localhost/metrics"))).text());
    const lab = samples.find((s) => s.name === "http_request_duration_seconds_count" && s.labels.route === "/lab/live");
    expect(lab?.labels).toMatchObject({ service: "web", method: "GET", status: "200" });
    expect(samples.find((s) => s.name === "lab_flags")?.labels).toMatchObject({ service: "web", CACHE: "off" });
  });
});
