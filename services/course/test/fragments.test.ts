import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { webLinks } from "@lab/shared/ui";
import { type Harness, serviceHarness, tokenFor } from "../../../test/support";
import { courseApp } from "../src/app";

let api: Harness;
let teacher: string;
const HX = { "hx-request": "true" };

beforeAll(async () => {
  api = await serviceHarness("course", join(import.meta.dir, "../migrations"), courseApp);
  teacher = await tokenFor({ id: 9, role: "teacher", is_verified: true, name: "Ada <Lovelace>" });
});
afterAll(() => api.close());

const create = async (title: string, price_cents = 0) => {
  const body = { title, description: "About <b>bold</b> & more", level: "beginner", price_cents, duration_hours: 2 };
  const response = await api.request("POST", "/courses", { token: teacher, body });
  expect(response.status).toBe(201);
  return response.body;
};

describe("course HTML fragments (HX-Request: true)", () => {
  test("the list is cards linking to the course pages, with user text escaped", async () => {
    const course = await create("<script>alert(1)</script>", 1999);
    const response = await api.request("GET", "/courses?q=alert", { headers: HX });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("text/html");
    expect(response.headers.get("vary")).toBe("HX-Request");
    expect(response.text).toContain(`href="${webLinks.course(course.id)}"`);
    expect(response.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(response.text).not.toContain("<script>");
    expect(response.text).toContain("&lt;b&gt;bold&lt;/b&gt;");
    expect(response.text).toContain("Ada &lt;Lovelace&gt;");
    expect(response.text).toContain("$19.99");
  });

  test("the same URL without HX-Request is still the JSON page", async () => {
    const response = await api.request("GET", "/courses?q=alert");
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(response.headers.get("vary")).toBe("HX-Request");
    expect(response.body.items[0].title).toBe("<script>alert(1)</script>");
  });

  test("paging links keep the search and point at the web catalog", async () => {
    for (const n of [1, 2, 3]) await create(`Paging course ${n}`);
    const first = await api.request("GET", "/courses?q=paging&limit=2", { headers: HX });
    expect(first.text).toContain(`href="${webLinks.catalog({ q: "paging", offset: 2 })}"`);
    expect(first.text).toContain('hx-push-url="true"');
    expect(first.text).not.toContain('rel="prev"');
    const second = await api.request("GET", "/courses?q=paging&limit=2&offset=2", { headers: HX });
    expect(second.text).toContain(`href="${webLinks.catalog({ q: "paging" })}"`);
    expect(second.text).not.toContain('rel="next"');
  });

  test("an empty search says so in words", async () => {
    const response = await api.request("GET", `/courses?q=${encodeURIComponent("<nothing>")}`, { headers: HX });
    expect(response.text).toContain("No course matches “&lt;nothing&gt;”.");
  });

  test("a course is its detail: level, price, duration, teacher", async () => {
    const course = await create("Detail course", 0);
    const response = await api.request("GET", `/courses/${course.id}`, { headers: HX });
    expect(response.status).toBe(200);
    expect(response.text).toContain("<h1");
    expect(response.text).toContain("Free");
    expect(response.text).toContain("2 hours");
    expect(response.text).toContain("beginner");
  });

  test("errors come back as a readable fragment, not JSON", async () => {
    const missing = await api.request("GET", "/courses/999999", { headers: HX });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toStartWith("text/html");
    expect(missing.text).toContain("Course not found");
    const student = await tokenFor({ role: "student" });
    const forbidden = await api.request("POST", "/courses", {
      token: student,
      headers: HX,
      body: { title: "x", description: "", level: "beginner", price_cents: 0, duration_hours: 1 },
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.text).toContain('role="alert"');
  });

  test("a created course answers with a link to its page", async () => {
    const response = await api.request("POST", "/courses", {
      token: teacher,
      headers: HX,
      body: { title: "Made via HTMX", description: "", level: "advanced", price_cents: 500, duration_hours: 1 },
    });
    expect(response.status).toBe(201);
    const [made] = (await api.request("GET", "/courses?q=Made%20via%20HTMX")).body.items;
    expect(response.text).toContain(`href="${webLinks.course(made.id)}"`);
    expect(response.text).toContain("Made via HTMX");
  });
});
