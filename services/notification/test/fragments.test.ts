import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { webLinks } from "@lab/shared/ui";
import { type Harness, serviceHarness, tokenFor } from "../../../test/support";
import { notificationApp } from "../src/app";

let api: Harness;
let token: string;
const HX = { "hx-request": "true" };

beforeAll(async () => {
  api = await serviceHarness("notification", join(import.meta.dir, "../migrations"), notificationApp);
  token = await tokenFor({ role: "student" });
});
afterAll(() => api.close());

const notify = async (message: string) => {
  const response = await api.request("POST", "/notifications", {
    token,
    body: { type: "enrollment.created", message },
  });
  expect(response.status).toBe(201);
  return response.body as { id: number };
};

describe("notification HTML fragments (HX-Request: true)", () => {
  test("the list shows each message escaped, unread ones with a mark-as-read form that works without JavaScript", async () => {
    const first = await notify("You enrolled in “<script>alert(1)</script>”.");
    const response = await api.request("GET", "/notifications/me", { token, headers: HX });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toStartWith("text/html");
    expect(response.text).toContain("You enrolled in “&lt;script&gt;alert(1)&lt;/script&gt;”.");
    expect(response.text).not.toContain("<script>");
    expect(response.text).toContain(`id="notification-${first.id}"`);
    expect(response.text).toContain(`method="post" action="${webLinks.readNotification(first.id)}"`);
    expect(response.text).toContain(`hx-post="${webLinks.readNotification(first.id)}"`);
    expect(response.text).toContain('data-read="false"');
  });

  test("marking read answers with the item, read and without its form", async () => {
    const second = await notify("Second");
    const response = await api.request("PATCH", `/notifications/${second.id}/read`, { token, headers: HX });
    expect(response.status).toBe(200);
    expect(response.text).toStartWith(`<li id="notification-${second.id}"`);
    expect(response.text).toContain('data-read="true"');
    expect(response.text).not.toContain("<form");
  });

  test("someone else's notification is a readable 404 fragment", async () => {
    const mine = await notify("Private");
    const other = await tokenFor({ role: "student" });
    const response = await api.request("PATCH", `/notifications/${mine.id}/read`, { token: other, headers: HX });
    expect(response.status).toBe(404);
    expect(response.text).toContain('role="alert"');
    expect(response.text).not.toContain("{");
  });

  test("no notifications says so", async () => {
    const nobody = await tokenFor({ role: "teacher" });
    const response = await api.request("GET", "/notifications/me", { token: nobody, headers: HX });
    expect(response.text).toContain("No notifications yet.");
  });
});
