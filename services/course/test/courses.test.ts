import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { signToken } from "@lab/shared";
import { type Harness, serviceHarness, tokenFor } from "../../../test/support";
import { courseApp } from "../src/app";

let api: Harness;
let teacher: string;
beforeAll(async () => {
  api = await serviceHarness("course", join(import.meta.dir, "../migrations"), courseApp);
  teacher = await tokenFor({ id: 7, role: "teacher", is_verified: true, name: "Grace Hopper" });
});
afterAll(() => api.close());

const course = (overrides: Record<string, unknown> = {}) => ({
  title: "Intro to Databases",
  description: "Tables, keys and queries.",
  level: "beginner",
  price_cents: 0,
  duration_hours: 3,
  ...overrides,
});

async function create(overrides: Record<string, unknown> = {}) {
  const response = await api.request("POST", "/courses", { token: teacher, body: course(overrides) });
  expect(response.status).toBe(201);
  return response.body;
}

describe("POST /courses role matrix", () => {
  test("no token is 401", async () => {
    expect((await api.request("POST", "/courses", { body: course() })).status).toBe(401);
  });

  test("tampered, expired, wrong-secret and alg:none tokens are 401", async () => {
    const [header, payload] = teacher.split(".");
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload as string, "base64url").toString()), role: "admin" }),
    ).toString("base64url");
    const tampered = `${header}.${forgedPayload}.${teacher.split(".")[2]}`;
    const claims = { sub: 7, role: "teacher", is_verified: true, name: "x" } as const;
    const expired = await signToken(claims, api.context.config.JWT_SECRET, -60);
    const wrongSecret = await signToken(claims, "another-secret", 3600);
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${payload}.`;
    for (const token of [tampered, expired, wrongSecret, none]) {
      const response = await api.request("POST", "/courses", { token, body: course() });
      expect(response.status).toBe(401);
    }
  });

  test("a student is 403", async () => {
    const token = await tokenFor({ role: "student" });
    const response = await api.request("POST", "/courses", { token, body: course() });
    expect(response.status).toBe(403);
  });

  test("an unverified teacher is 403 and told why", async () => {
    const token = await tokenFor({ role: "teacher", is_verified: false });
    const response = await api.request("POST", "/courses", { token, body: course() });
    expect(response.status).toBe(403);
    expect(response.body.message).toContain("not verified");
  });

  test("a verified teacher creates a course (201) that can be read back", async () => {
    const created = await create({ title: "  Trimmed title  " });
    expect(created).toMatchObject({ title: "Trimmed title", teacher_id: 7, teacher_name: "Grace Hopper" });
    const read = await api.request("GET", `/courses/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body.id).toBe(created.id);
  });

  test("bad bodies are 422 naming the field", async () => {
    for (const [body, field] of [
      [course({ price_cents: -1 }), "price_cents"],
      [course({ duration_hours: 0 }), "duration_hours"],
      [course({ level: "expert" }), "level"],
      [course({ title: "" }), "title"],
    ] as const) {
      const response = await api.request("POST", "/courses", { token: teacher, body });
      expect(response.status).toBe(422);
      expect(response.body.message).toContain(field);
    }
    const blank = await api.request("POST", "/courses", { token: teacher, body: course({ title: "   " }) });
    expect(blank.status).toBe(422);
  });
});

describe("GET /courses search and paging", () => {
  beforeAll(async () => {
    await api.db.query`TRUNCATE courses`;
    await create({ title: "PostgreSQL Performance", description: "Indexes and plans", level: "advanced" });
    await create({ title: "Cooking for coders", description: "Pasta while POSTGRESQL vacuums", level: "beginner" });
    await create({ title: "100% Practical Rust", description: "Ownership", level: "intermediate" });
    await create({ title: "snake_case naming", description: "Style", level: "beginner" });
    await create({ title: "Gardening", description: "Soil and seeds", level: "beginner" });
  });

  const titles = (body: { items: { title: string }[] }) => body.items.map((c) => c.title);

  test("search is case-insensitive and matches the description too, newest first", async () => {
    const response = await api.request("GET", "/courses?q=postgresql");
    expect(response.status).toBe(200);
    expect(titles(response.body)).toEqual(["Cooking for coders", "PostgreSQL Performance"]);
  });

  test("% and _ are literal", async () => {
    expect(titles((await api.request("GET", "/courses?q=100%25")).body)).toEqual(["100% Practical Rust"]);
    expect(titles((await api.request("GET", "/courses?q=0%25%20P")).body)).toEqual(["100% Practical Rust"]);
    expect(titles((await api.request("GET", "/courses?q=%25%25%25")).body)).toEqual([]);
    expect(titles((await api.request("GET", "/courses?q=e_c")).body)).toEqual(["snake_case naming"]);
    expect(titles((await api.request("GET", "/courses?q=___")).body)).toEqual([]);
  });

  test("level filter combines with search", async () => {
    expect(titles((await api.request("GET", "/courses?level=advanced&q=sql")).body)).toEqual([
      "PostgreSQL Performance",
    ]);
  });

  test("pages walk the whole list without overlap", async () => {
    const first = await api.request("GET", "/courses?limit=2");
    const second = await api.request("GET", "/courses?limit=2&offset=2");
    const third = await api.request("GET", "/courses?limit=2&offset=4");
    expect(first.body.has_more).toBe(true);
    expect(second.body.has_more).toBe(true);
    expect(third.body.has_more).toBe(false);
    const all = [...titles(first.body), ...titles(second.body), ...titles(third.body)];
    expect(all).toHaveLength(5);
    expect(new Set(all).size).toBe(5);
    expect(all[0]).toBe("Gardening");
  });

  test("limit and offset are range-checked", async () => {
    expect((await api.request("GET", "/courses?limit=0")).status).toBe(422);
    expect((await api.request("GET", "/courses?limit=101")).status).toBe(422);
    expect((await api.request("GET", "/courses?offset=-1")).status).toBe(422);
    expect((await api.request("GET", "/courses?level=expert")).status).toBe(422);
  });

  test("an unknown course is 404, a malformed id 422", async () => {
    const missing = await api.request("GET", "/courses/999999");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: "not_found", message: "Course not found" });
    for (const id of ["abc", "-1", "99999999999999999999", "1.5"]) {
      expect((await api.request("GET", `/courses/${id}`)).status).toBe(422);
    }
  });
});

describe("GET /courses/batch", () => {
  test("returns the known courses among the ids in one call, by id, each once", async () => {
    const first = await create({ title: "Batch one" });
    const second = await create({ title: "Batch two", price_cents: 1500 });
    const response = await api.request("GET", `/courses/batch?ids=${second.id},999999,${first.id},${second.id}`);
    expect(response.status).toBe(200);
    expect(response.body.items.map((c: { id: number; title: string }) => [c.id, c.title])).toEqual([
      [first.id, "Batch one"],
      [second.id, "Batch two"],
    ]);
    expect(response.body.items[1]).toEqual(second);
  });

  test("ids are required, numeric and at most a page's worth", async () => {
    const tooMany = Array.from({ length: 101 }, (_, i) => i + 1).join(",");
    for (const query of ["", "?ids=", "?ids=abc", "?ids=1,-2", `?ids=${tooMany}`]) {
      expect((await api.request("GET", `/courses/batch${query}`)).status).toBe(422);
    }
    expect((await api.request("GET", "/courses/batch?ids=999998")).body).toEqual({ items: [] });
  });
});
