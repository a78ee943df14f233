import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Harness, serviceHarness, tokenFor } from "../../../test/support";
import { paymentApp } from "../src/app";

let api: Harness;
beforeAll(async () => {
  api = await serviceHarness("payment", join(import.meta.dir, "../migrations"), paymentApp);
});
afterAll(() => api.close());

const student = (id: number) => tokenFor({ id, role: "student", name: `Student ${id}` });

async function pay(token: string, body: Record<string, unknown>, key?: string) {
  return api.request("POST", "/payments", { token, body, headers: key ? { "idempotency-key": key } : {} });
}

const rowCount = async (studentId: number) =>
  (await api.db.query<{ n: number }>`SELECT count(*)::int AS n FROM payments WHERE student_id = ${studentId}`)[0]?.n;

describe("POST /payments", () => {
  test("a student pays: 201, completed, and the processor's facts are recorded", async () => {
    const response = await pay(await student(1), { course_id: 5, amount_cents: 4900 });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      status: "completed",
      student_id: 1,
      course_id: 5,
      amount_cents: 4900,
      currency: "USD",
    });
    expect(response.body.processor_ref).toMatch(/^mock_ch_[0-9a-f]{32}$/);
    expect(Number.isNaN(Date.parse(response.body.created_at))).toBe(false);
    const [row] = await api.db.query`SELECT student_id, course_id, amount_cents, currency, status, processor_ref
      FROM payments WHERE id = ${response.body.id}`;
    expect(row).toEqual({
      student_id: 1,
      course_id: 5,
      amount_cents: 4900,
      currency: "USD",
      status: "completed",
      processor_ref: response.body.processor_ref,
    });
  });

  test("no token is 401, a teacher or an admin is 403", async () => {
    const body = { course_id: 5, amount_cents: 100 };
    expect((await api.request("POST", "/payments", { body })).status).toBe(401);
    for (const role of ["teacher", "admin"] as const) {
      const response = await pay(await tokenFor({ role, is_verified: true }), body);
      expect(response.status).toBe(403);
    }
  });

  test("bad bodies are 422 naming the field", async () => {
    const token = await student(2);
    for (const [body, field] of [
      [{ course_id: 5, amount_cents: 0 }, "amount_cents"],
      [{ course_id: 5, amount_cents: -100 }, "amount_cents"],
      [{ course_id: 5, amount_cents: 10.5 }, "amount_cents"],
      [{ amount_cents: 100 }, "course_id"],
      [{ course_id: 0, amount_cents: 100 }, "course_id"],
    ] as const) {
      const response = await pay(token, body);
      expect(response.status).toBe(422);
      expect(response.body.message).toContain(field);
    }
    expect(await rowCount(2)).toBe(0);
  });

  test("without an Idempotency-Key two requests are two payments", async () => {
    const token = await student(3);
    const first = await pay(token, { course_id: 5, amount_cents: 100 });
    const second = await pay(token, { course_id: 5, amount_cents: 100 });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
    expect(await rowCount(3)).toBe(2);
  });
});

describe("Idempotency-Key", () => {
  test("the same key twice returns the same payment and stores one row", async () => {
    const token = await student(10);
    const first = await pay(token, { course_id: 7, amount_cents: 2500 }, "retry-me");
    const again = await pay(token, { course_id: 7, amount_cents: 2500 }, "retry-me");
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(await rowCount(10)).toBe(1);
  });

  test("concurrent retries with one key race to a single payment", async () => {
    const token = await student(11);
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => pay(token, { course_id: 7, amount_cents: 2500 }, "double-click")),
    );
    expect(responses.every((r) => r.status === 200 || r.status === 201)).toBe(true);
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(await rowCount(11)).toBe(1);
  });

  test("the same key with another body is a 422 and charges nothing", async () => {
    const token = await student(12);
    expect((await pay(token, { course_id: 7, amount_cents: 2500 }, "k1")).status).toBe(201);
    for (const body of [
      { course_id: 7, amount_cents: 1 },
      { course_id: 8, amount_cents: 2500 },
    ]) {
      const response = await pay(token, body, "k1");
      expect(response.status).toBe(422);
      expect(response.body.message).toContain("Idempotency-Key");
      expect(response.body.message).toContain("different body");
    }
    expect(await rowCount(12)).toBe(1);
  });

  test("keys belong to one student: another student's same key is a payment of their own", async () => {
    const mine = await pay(await student(13), { course_id: 7, amount_cents: 2500 }, "shared-key");
    const theirs = await pay(await student(14), { course_id: 7, amount_cents: 2500 }, "shared-key");
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(theirs.body.student_id).toBe(14);
  });

  test("an empty or overlong key is a 422", async () => {
    const token = await student(15);
    for (const key of ["", "k".repeat(256)]) {
      const response = await api.request("POST", "/payments", {
        token,
        body: { course_id: 7, amount_cents: 100 },
        headers: { "idempotency-key": key },
      });
      expect(response.status).toBe(422);
    }
    expect(await rowCount(15)).toBe(0);
  });
});

describe("reading payments", () => {
  test("the owner reads a payment; anyone else gets the same 404 as for a missing id", async () => {
    const owner = await student(20);
    const created = await pay(owner, { course_id: 9, amount_cents: 900 });
    const read = await api.request("GET", `/payments/${created.body.id}`, { token: owner });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const stranger = await api.request("GET", `/payments/${created.body.id}`, { token: await student(21) });
    const missing = await api.request("GET", "/payments/99999999", { token: owner });
    expect(stranger.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(stranger.body).toEqual(missing.body);
    const teacher = await tokenFor({ role: "teacher", is_verified: true });
    expect((await api.request("GET", `/payments/${created.body.id}`, { token: teacher })).status).toBe(404);
  });

  test("reading needs a token, and a malformed id is a 422", async () => {
    expect((await api.request("GET", "/payments/1")).status).toBe(401);
    expect((await api.request("GET", "/payments/me")).status).toBe(401);
    expect((await api.request("GET", "/payments/abc", { token: await student(20) })).status).toBe(422);
  });

  test("GET /payments/me pages through the caller's payments only, newest first", async () => {
    const token = await student(30);
    const ids: number[] = [];
    for (const course of [1, 2, 3]) ids.push((await pay(token, { course_id: course, amount_cents: 100 })).body.id);
    await pay(await student(31), { course_id: 1, amount_cents: 100 });

    const first = await api.request("GET", "/payments/me?limit=2", { token });
    const second = await api.request("GET", "/payments/me?limit=2&offset=2", { token });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ limit: 2, offset: 0, has_more: true });
    expect(second.body).toMatchObject({ limit: 2, offset: 2, has_more: false });
    const seen = [...first.body.items, ...second.body.items];
    expect(seen.map((p: { id: number }) => p.id)).toEqual(ids.reverse());
    expect(seen.every((p: { student_id: number }) => p.student_id === 30)).toBe(true);
    expect((await api.request("GET", "/payments/me?limit=101", { token })).status).toBe(422);
  });
});
