import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { configureLog } from "@lab/shared";
import { type Harness, serviceHarness, tokenFor } from "../../../test/support";
import { notificationApp } from "../src/app";

let api: Harness;
beforeAll(async () => {
  api = await serviceHarness("notification", join(import.meta.dir, "../migrations"), notificationApp);
});
afterAll(() => api.close());

const user = (id: number, role: "student" | "teacher" = "student") => tokenFor({ id, role, is_verified: true });

async function notify(token: string, type = "enrollment.created", message = "You joined a course") {
  const response = await api.request("POST", "/notifications", { token, body: { type, message } });
  expect(response.status).toBe(201);
  return response.body;
}

describe("POST /notifications", () => {
  afterEach(() => configureLog("notification", "warn"));

  test("creates an unread notification for the caller (201)", async () => {
    const created = await notify(await user(1), "payment.completed", "  Payment received  ");
    expect(created).toMatchObject({
      user_id: 1,
      type: "payment.completed",
      message: "Payment received",
      read: false,
      read_at: null,
    });
    const [row] = await api.db
      .query`SELECT user_id, type, message, read_at FROM notifications WHERE id = ${created.id}`;
    expect(row).toEqual({ user_id: 1, type: "payment.completed", message: "Payment received", read_at: null });
  });

  test("is logged as one JSON line", async () => {
    const written: string[] = [];
    configureLog("notification", "info", "json", { write: (line: string) => void written.push(line) });
    const created = await notify(await user(2), "enrollment.created", "Welcome to\nRust basics");
    const lines = written.map((line) => JSON.parse(line)).filter((entry) => entry.msg === "notification created");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      service: "notification",
      notification_id: created.id,
      user_id: 2,
      type: "enrollment.created",
      message: "Welcome to\nRust basics",
    });
    const raw = written.find((line) => line.includes('"notification created"'));
    expect(raw?.trimEnd().includes("\n")).toBe(false);
  });

  test("every role may notify itself; no token is 401", async () => {
    expect((await notify(await user(3, "teacher"))).user_id).toBe(3);
    const response = await api.request("POST", "/notifications", { body: { type: "x", message: "y" } });
    expect(response.status).toBe(401);
    expect((await api.request("GET", "/notifications/me")).status).toBe(401);
    expect((await api.request("PATCH", "/notifications/1/read")).status).toBe(401);
  });

  test("bad bodies are 422 naming the field, and nothing is stored", async () => {
    const token = await user(4);
    for (const [body, field] of [
      [{ type: "", message: "m" }, "type"],
      [{ type: "Has Spaces", message: "m" }, "type"],
      [{ type: "x".repeat(51), message: "m" }, "type"],
      [{ type: "info", message: "" }, "message"],
      [{ type: "info", message: "m".repeat(2001) }, "message"],
      [{ type: "info", message: "   " }, "message"],
      [{ message: "m" }, "type"],
    ] as const) {
      const response = await api.request("POST", "/notifications", { token, body });
      expect(response.status).toBe(422);
      expect(response.body.message).toContain(field);
    }
    const [count] = await api.db.query`SELECT count(*)::int AS n FROM notifications WHERE user_id = 4`;
    expect(count).toEqual({ n: 0 });
  });
});

describe("GET /notifications/me and marking read", () => {
  test("lists only the caller's notifications, unread first and newest first, with unread_count", async () => {
    const token = await user(10);
    const first = await notify(token, "info", "first");
    const second = await notify(token, "info", "second");
    const third = await notify(token, "info", "third");
    await notify(await user(11), "info", "someone else's");
    expect((await api.request("PATCH", `/notifications/${third.id}/read`, { token })).status).toBe(200);

    const response = await api.request("GET", "/notifications/me", { token });
    expect(response.status).toBe(200);
    expect(response.body.items.map((n: { id: number }) => n.id)).toEqual([second.id, first.id, third.id]);
    expect(response.body.items.map((n: { read: boolean }) => n.read)).toEqual([false, false, true]);
    expect(response.body).toMatchObject({ unread_count: 2, limit: 20, offset: 0, has_more: false });
  });

  test("pages walk the list without overlap and unread_count is the total on every page", async () => {
    const token = await user(12);
    for (const n of [1, 2, 3, 4, 5]) await notify(token, "info", `message ${n}`);
    const pages = [];
    for (const offset of [0, 2, 4]) {
      const page = await api.request("GET", `/notifications/me?limit=2&offset=${offset}`, { token });
      expect(page.body.unread_count).toBe(5);
      pages.push(page.body);
    }
    expect(pages.map((p) => p.has_more)).toEqual([true, true, false]);
    const messages = pages.flatMap((p) => p.items.map((n: { message: string }) => n.message));
    expect(messages).toEqual(["message 5", "message 4", "message 3", "message 2", "message 1"]);
    expect((await api.request("GET", "/notifications/me?limit=0", { token })).status).toBe(422);
    expect((await api.request("GET", "/notifications/me?offset=-1", { token })).status).toBe(422);
  });

  test("the owner marks a notification read (200) and unread_count drops", async () => {
    const token = await user(13);
    const created = await notify(token);
    const read = await api.request("PATCH", `/notifications/${created.id}/read`, { token });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: created.id, read: true });
    expect(Number.isNaN(Date.parse(read.body.read_at))).toBe(false);
    expect((await api.request("GET", "/notifications/me", { token })).body.unread_count).toBe(0);
  });

  test("marking read twice is idempotent: 200 both times, first read time kept", async () => {
    const token = await user(14);
    const created = await notify(token);
    const once = await api.request("PATCH", `/notifications/${created.id}/read`, { token });
    const twice = await api.request("PATCH", `/notifications/${created.id}/read`, { token });
    expect(once.status).toBe(200);
    expect(twice.status).toBe(200);
    expect(twice.body).toEqual(once.body);
  });

  test("another user's notification is a 404, the same as a missing one, and stays unread", async () => {
    const owner = await user(15);
    const created = await notify(owner);
    const stranger = await api.request("PATCH", `/notifications/${created.id}/read`, { token: await user(16) });
    const missing = await api.request("PATCH", "/notifications/99999999/read", { token: owner });
    expect(stranger.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(stranger.body).toEqual(missing.body);
    const mine = await api.request("GET", "/notifications/me", { token: owner });
    expect(mine.body.items[0]).toMatchObject({ id: created.id, read: false });
    expect(mine.body.unread_count).toBe(1);
  });

  test("a malformed id is a 422", async () => {
    const token = await user(17);
    for (const id of ["abc", "0", "1.5", "99999999999"]) {
      expect((await api.request("PATCH", `/notifications/${id}/read`, { token })).status).toBe(422);
    }
  });
});
