import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { webLinks } from "@lab/shared/ui";
import { type Harness, serviceHarness, tokenFor } from "../../../test/support";
import { paymentApp } from "../src/app";

let api: Harness;
let token: string;
const HX = { "hx-request": "true" };

beforeAll(async () => {
  api = await serviceHarness("payment", join(import.meta.dir, "../migrations"), paymentApp);
  token = await tokenFor({ role: "student" });
});
afterAll(() => api.close());

describe("payment HTML fragments (HX-Request: true)", () => {
  test("a payment answers with a receipt in words", async () => {
    const response = await api.request("POST", "/payments", {
      token,
      headers: HX,
      body: { course_id: 3, amount_cents: 1999 },
    });
    expect(response.status).toBe(201);
    expect(response.text).toMatch(/Payment #\d+ of \$19\.99 completed\./);
    expect(response.headers.get("vary")).toBe("HX-Request");
  });

  test("my payments are a table with amount, status and a link to the course", async () => {
    const response = await api.request("GET", "/payments/me", { token, headers: HX });
    expect(response.status).toBe(200);
    expect(response.text).toContain("<table");
    expect(response.text).toContain(`href="${webLinks.course(3)}"`);
    expect(response.text).toContain("$19.99");
    expect(response.text).toContain("completed");
  });

  test("a teacher's payment attempt is a readable 403 fragment", async () => {
    const teacher = await tokenFor({ role: "teacher", is_verified: true });
    const response = await api.request("POST", "/payments", {
      token: teacher,
      headers: HX,
      body: { course_id: 3, amount_cents: 100 },
    });
    expect(response.status).toBe(403);
    expect(response.text).toContain('role="alert"');
  });
});
