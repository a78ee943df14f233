import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { webLinks } from "@lab/shared/ui";
import type { AnyElysia } from "elysia";
import { type Harness, serviceHarness, tokenFor } from "../../../test/support";
import { courseApp } from "../../course/src/app";
import { paymentApp } from "../../payment/src/app";
import { enrollmentApp } from "../src/app";

/** Enrollment over the real course and payment apps, each listening on a free port. */
let courses: Harness;
let payments: Harness;
let api: Harness;
let courseId: number;
const HX = { "hx-request": "true" };

const listen = (app: AnyElysia) => {
  app.listen({ port: 0, hostname: "127.0.0.1" });
  return `http://127.0.0.1:${app.server?.port}`;
};

beforeAll(async () => {
  courses = await serviceHarness("course", join(import.meta.dir, "../../course/migrations"), courseApp);
  payments = await serviceHarness("payment", join(import.meta.dir, "../../payment/migrations"), paymentApp);
  api = await serviceHarness("enrollment", join(import.meta.dir, "../migrations"), enrollmentApp, {
    COURSE_URL: listen(courses.app),
    PAYMENT_URL: listen(payments.app),
  });
  const teacher = await tokenFor({ role: "teacher", is_verified: true, name: "Grace" });
  const created = await courses.request("POST", "/courses", {
    token: teacher,
    body: { title: "<b>Bold</b> & free", description: "", level: "beginner", price_cents: 0, duration_hours: 1 },
  });
  courseId = created.body.id;
});

afterAll(async () => {
  await courses.app.stop(true);
  await payments.app.stop(true);
  await Promise.all([api.close(), courses.close(), payments.close()]);
});

describe("enrollment HTML fragments (HX-Request: true)", () => {
  test("enrolling answers with a notice linking to My courses; the count is in words", async () => {
    const student = await tokenFor({ role: "student" });
    const empty = await api.request("GET", `/enrollments/course/${courseId}/count`, { headers: HX });
    expect(empty.text).toContain("0 students enrolled");
    const enrolled = await api.request("POST", "/enrollments", {
      token: student,
      headers: HX,
      body: { course_id: courseId },
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.text).toContain(`href="${webLinks.myCourses()}"`);
    const one = await api.request("GET", `/enrollments/course/${courseId}/count`, { headers: HX });
    expect(one.text).toContain("1 student enrolled");

    const again = await api.request("POST", "/enrollments", {
      token: student,
      headers: HX,
      body: { course_id: courseId },
    });
    expect(again.status).toBe(409);
    expect(again.text).toContain('role="alert"');
    expect(again.text).toContain("already enrolled");
  });

  test("My courses lists each course by its escaped title, linking to the course page", async () => {
    const student = await tokenFor({ role: "student" });
    await api.request("POST", "/enrollments", { token: student, body: { course_id: courseId } });
    const response = await api.request("GET", "/enrollments/me", { token: student, headers: HX });
    expect(response.status).toBe(200);
    expect(response.text).toContain(`href="${webLinks.course(courseId)}"`);
    expect(response.text).toContain("&lt;b&gt;Bold&lt;/b&gt; &amp; free");
    expect(response.text).toContain("Free · enrolled");
  });

  test("a student without enrollments is pointed to the catalog", async () => {
    const student = await tokenFor({ role: "student" });
    const response = await api.request("GET", "/enrollments/me", { token: student, headers: HX });
    expect(response.text).toContain("You are not enrolled in any course yet.");
    expect(response.text).toContain(`href="${webLinks.catalog()}"`);
  });
});
