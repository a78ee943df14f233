import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { AnyElysia } from "elysia";
import { freePort } from "../../../scripts/lib/postgres";
import { call, type Harness, serviceHarness, tokenFor } from "../../../test/support";
import { courseApp } from "../../course/src/app";
import { paymentApp } from "../../payment/src/app";
import { enrollmentApp } from "../src/app";

/** The real course and payment apps, each on its own database, listening on a free port like in production. */
let courses: Harness;
let payments: Harness;
let api: Harness;
/** Paths the course service was asked for, to see how enrollment calls it. */
const courseCalls: string[] = [];

const listen = (app: AnyElysia) => {
  app.listen({ port: 0, hostname: "127.0.0.1" });
  return `http://127.0.0.1:${app.server?.port}`;
};

let teacher: string;
let freeCourse: number;
let paidCourse: number;
let otherPaidCourse: number;
const PRICE = 4900;

beforeAll(async () => {
  courses = await serviceHarness("course", join(import.meta.dir, "../../course/migrations"), (context) =>
    courseApp(context).onRequest(({ request }) => {
      const url = new URL(request.url);
      courseCalls.push(url.pathname + url.search);
    }),
  );
  payments = await serviceHarness("payment", join(import.meta.dir, "../../payment/migrations"), paymentApp);
  api = await serviceHarness("enrollment", join(import.meta.dir, "../migrations"), enrollmentApp, {
    COURSE_URL: listen(courses.app),
    PAYMENT_URL: listen(payments.app),
  });
  teacher = await tokenFor({ id: 500, role: "teacher", is_verified: true, name: "Grace Hopper" });
  freeCourse = await createCourse("Free intro", 0);
  paidCourse = await createCourse("Paid deep dive", PRICE);
  otherPaidCourse = await createCourse("Another paid course", PRICE);
});

afterAll(async () => {
  await courses.app.stop(true);
  await payments.app.stop(true);
  await Promise.all([api.close(), courses.close(), payments.close()]);
});

async function createCourse(title: string, price_cents: number): Promise<number> {
  const response = await courses.request("POST", "/courses", {
    token: teacher,
    body: { title, description: "", level: "beginner", price_cents, duration_hours: 2 },
  });
  expect(response.status).toBe(201);
  return response.body.id;
}

let nextStudent = 1;
const newStudent = () => tokenFor({ id: nextStudent++, role: "student", name: "Student" });
const idOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()).sub;

async function pay(token: string, course_id: number, amount_cents = PRICE): Promise<number> {
  const response = await payments.request("POST", "/payments", { token, body: { course_id, amount_cents } });
  expect(response.status).toBe(201);
  return response.body.id;
}

const enroll = (token: string, body: Record<string, unknown>, app: AnyElysia = api.app) =>
  call(app, "POST", "/enrollments", { token, body });

const enrollmentsOf = async (token: string) =>
  api.db.query`SELECT course_id, payment_id FROM enrollments WHERE student_id = ${Number(idOf(token))}`;

describe("POST /enrollments", () => {
  test("free course: a student enrolls directly (201), no payment needed", async () => {
    const student = await newStudent();
    const response = await enroll(student, { course_id: freeCourse });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      student_id: Number(idOf(student)),
      course_id: freeCourse,
      payment_id: null,
      price_cents: 0,
    });
    expect(await enrollmentsOf(student)).toEqual([{ course_id: freeCourse, payment_id: null }]);
  });

  test("paid course: the student's completed payment for its price enrolls them (201)", async () => {
    const student = await newStudent();
    const paymentId = await pay(student, paidCourse);
    const response = await enroll(student, { course_id: paidCourse, payment_id: paymentId });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ course_id: paidCourse, payment_id: paymentId, price_cents: PRICE });
  });

  test("paid course without a payment is a 402 naming the price, and nothing is written", async () => {
    const student = await newStudent();
    const response = await enroll(student, { course_id: paidCourse });
    expect(response.status).toBe(402);
    expect(response.body.error).toBe("payment_required");
    expect(response.body.message).toContain(`${PRICE} cents`);
    expect(await enrollmentsOf(student)).toEqual([]);
  });

  test("someone else's payment cannot be used (402), and stays usable by its owner", async () => {
    const owner = await newStudent();
    const thief = await newStudent();
    const paymentId = await pay(owner, paidCourse);
    const stolen = await enroll(thief, { course_id: paidCourse, payment_id: paymentId });
    expect(stolen.status).toBe(402);
    expect(stolen.body.message).toContain("not one of your payments");
    expect(await enrollmentsOf(thief)).toEqual([]);
    const unknown = await enroll(thief, { course_id: paidCourse, payment_id: 99999999 });
    expect(unknown.status).toBe(402);
    expect(unknown.body.message).toContain("not one of your payments");
    expect((await enroll(owner, { course_id: paidCourse, payment_id: paymentId })).status).toBe(201);
  });

  test("a payment for another course is refused (402)", async () => {
    const student = await newStudent();
    const paymentId = await pay(student, otherPaidCourse);
    const response = await enroll(student, { course_id: paidCourse, payment_id: paymentId });
    expect(response.status).toBe(402);
    expect(response.body.message).toContain(`paid for course ${otherPaidCourse}, not course ${paidCourse}`);
    expect(await enrollmentsOf(student)).toEqual([]);
  });

  test("a payment of the wrong amount, too little or too much, is refused (402)", async () => {
    const student = await newStudent();
    for (const amount of [PRICE - 1, PRICE + 1, 1]) {
      const paymentId = await pay(student, paidCourse, amount);
      const response = await enroll(student, { course_id: paidCourse, payment_id: paymentId });
      expect(response.status).toBe(402);
      expect(response.body.message).toContain(`${amount} cents, but course ${paidCourse} costs ${PRICE} cents`);
    }
    expect(await enrollmentsOf(student)).toEqual([]);
  });

  test("a payment that is not completed is refused (402)", async () => {
    const student = await newStudent();
    const paymentId = await pay(student, paidCourse);
    await payments.db.query`UPDATE payments SET status = 'refunded' WHERE id = ${paymentId}`;
    const response = await enroll(student, { course_id: paidCourse, payment_id: paymentId });
    expect(response.status).toBe(402);
    expect(response.body.message).toContain("refunded, not completed");
  });

  test("a payment already used cannot pay for a second course or a second student", async () => {
    const student = await newStudent();
    const paymentId = await pay(student, paidCourse);
    expect((await enroll(student, { course_id: paidCourse, payment_id: paymentId })).status).toBe(201);

    // it paid for one course of one student: the checks against the payment refuse it before the INSERT
    const secondCourse = await enroll(student, { course_id: otherPaidCourse, payment_id: paymentId });
    expect(secondCourse.status).toBe(402);
    expect(secondCourse.body.message).toContain(`paid for course ${paidCourse}, not course ${otherPaidCourse}`);
    const secondStudent = await newStudent();
    const reused = await enroll(secondStudent, { course_id: paidCourse, payment_id: paymentId });
    expect(reused.status).toBe(402);
    const again = await enroll(student, { course_id: paidCourse, payment_id: paymentId });
    expect(again.status).toBe(409);
    expect(again.body.message).toContain("already enrolled");
    expect(await enrollmentsOf(secondStudent)).toEqual([]);
    expect(await enrollmentsOf(student)).toEqual([{ course_id: paidCourse, payment_id: paymentId }]);
  });

  test("enrolling twice is a 409; concurrent requests give exactly one enrollment", async () => {
    const student = await newStudent();
    expect((await enroll(student, { course_id: freeCourse })).status).toBe(201);
    const again = await enroll(student, { course_id: freeCourse });
    expect(again.status).toBe(409);
    expect(again.body.message).toContain("already enrolled");

    const racer = await newStudent();
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => enroll(racer, { course_id: freeCourse })))).map(
      (r) => r.status,
    );
    expect(statuses.sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await enrollmentsOf(racer)).toHaveLength(1);
  });

  test("a paid enrollment sent three times at once gives one enrollment and spends the payment once", async () => {
    const student = await newStudent();
    const paymentId = await pay(student, paidCourse);
    const raced = await Promise.all([
      enroll(student, { course_id: paidCourse, payment_id: paymentId }),
      enroll(student, { course_id: paidCourse, payment_id: paymentId }),
      enroll(student, { course_id: paidCourse, payment_id: paymentId }),
    ]);
    expect(raced.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(await enrollmentsOf(student)).toEqual([{ course_id: paidCourse, payment_id: paymentId }]);
  });

  test("teachers and admins cannot enroll (403); no token is 401", async () => {
    for (const role of ["teacher", "admin"] as const) {
      const token = await tokenFor({ role, is_verified: true });
      const response = await enroll(token, { course_id: freeCourse });
      expect(response.status).toBe(403);
      expect(response.body.message).toContain("for student accounts");
      expect(await enrollmentsOf(token)).toEqual([]);
    }
    expect((await call(api.app, "POST", "/enrollments", { body: { course_id: freeCourse } })).status).toBe(401);
  });

  test("an unknown course is a 404 and bad bodies are 422", async () => {
    const student = await newStudent();
    const missing = await enroll(student, { course_id: 99999999 });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: "not_found", message: "Course not found" });
    for (const body of [{}, { course_id: 0 }, { course_id: "x" }, { course_id: freeCourse, payment_id: -1 }]) {
      expect((await enroll(student, body)).status).toBe(422);
    }
    expect(await enrollmentsOf(student)).toEqual([]);
  });
});

describe("dependencies down or slow", () => {
  const withConfig = (overrides: Record<string, string | number>) =>
    enrollmentApp({ ...api.context, config: { ...api.context.config, ...overrides } });

  test("payment service down: 503 naming it, and nothing is written", async () => {
    const app = withConfig({ PAYMENT_URL: `http://127.0.0.1:${freePort()}` });
    const student = await newStudent();
    const paymentId = await pay(student, paidCourse);
    const response = await enroll(student, { course_id: paidCourse, payment_id: paymentId }, app);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(response.body).toMatchObject({ error: "unavailable" });
    expect(response.body.message).toContain("payment service is not answering");
    expect(await enrollmentsOf(student)).toEqual([]);
    // the payment was not spent: once the service is back it still enrolls
    expect((await enroll(student, { course_id: paidCourse, payment_id: paymentId })).status).toBe(201);
  });

  test("course service too slow: 503 after UPSTREAM_TIMEOUT_MS, and nothing is written", async () => {
    const stalled = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async () => {
        await Bun.sleep(5_000);
        return Response.json({});
      },
    });
    try {
      const app = withConfig({ COURSE_URL: `http://127.0.0.1:${stalled.port}`, UPSTREAM_TIMEOUT_MS: 200 });
      const student = await newStudent();
      const response = await enroll(student, { course_id: freeCourse }, app);
      expect(response.status).toBe(503);
      expect(response.body.message).toBe(
        "The course catalog service did not answer within 200 ms. Please try again in a moment.",
      );
      expect(await enrollmentsOf(student)).toEqual([]);
    } finally {
      stalled.stop(true);
    }
  });
});

describe("reading enrollments", () => {
  test("GET /enrollments/me lists the student's courses with titles, fetched in one batch call", async () => {
    const student = await newStudent();
    expect((await enroll(student, { course_id: freeCourse })).status).toBe(201);
    const paymentId = await pay(student, paidCourse);
    expect((await enroll(student, { course_id: paidCourse, payment_id: paymentId })).status).toBe(201);
    expect((await enroll(await newStudent(), { course_id: freeCourse })).status).toBe(201);

    courseCalls.length = 0;
    const response = await call(api.app, "GET", "/enrollments/me", { token: student });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ limit: 20, offset: 0, has_more: false });
    expect(
      response.body.items.map((e: { course_id: number; course_title: string }) => [e.course_id, e.course_title]),
    ).toEqual([
      [paidCourse, "Paid deep dive"],
      [freeCourse, "Free intro"],
    ]);
    expect(courseCalls.map(decodeURIComponent)).toEqual([`/courses/batch?ids=${paidCourse},${freeCourse}`]);

    const firstPage = await call(api.app, "GET", "/enrollments/me?limit=1", { token: student });
    expect(firstPage.body.has_more).toBe(true);
    expect(firstPage.body.items).toHaveLength(1);
  });

  test("nothing enrolled is an empty page without a call to the course service; no token is 401", async () => {
    courseCalls.length = 0;
    const response = await call(api.app, "GET", "/enrollments/me", { token: await newStudent() });
    expect(response.body).toEqual({ items: [], limit: 20, offset: 0, has_more: false });
    expect(courseCalls).toEqual([]);
    expect((await call(api.app, "GET", "/enrollments/me")).status).toBe(401);
  });

  test("GET /enrollments/me/course/:id answers for one course, however many the student holds", async () => {
    const student = await newStudent();
    const check = (token: string | undefined, course: number | string) =>
      call(api.app, "GET", `/enrollments/me/course/${course}`, { token });
    expect((await check(student, paidCourse)).body).toEqual({ course_id: paidCourse, enrolled: false });
    const paymentId = await pay(student, paidCourse);
    expect((await enroll(student, { course_id: paidCourse, payment_id: paymentId })).status).toBe(201);
    // more newer enrollments than /enrollments/me shows on its largest page
    await api.db.query`
      INSERT INTO enrollments (student_id, course_id, price_cents, created_at)
      SELECT ${Number(idOf(student))}, 1000000 + n, 0, now() + n * interval '1 second' FROM generate_series(1, 101) AS n`;
    courseCalls.length = 0;
    const enrolled = await check(student, paidCourse);
    expect(enrolled.status).toBe(200);
    expect(enrolled.body).toEqual({ course_id: paidCourse, enrolled: true });
    expect(courseCalls).toEqual([]);
    expect((await check(await newStudent(), paidCourse)).body).toEqual({ course_id: paidCourse, enrolled: false });
    expect((await check(undefined, paidCourse)).status).toBe(401);
    expect((await check(student, "abc")).status).toBe(422);
  });

  test("GET /enrollments/course/:id/count counts a course's enrollments after several enroll", async () => {
    const course = await createCourse("Counted course", 0);
    const before = await call(api.app, "GET", `/enrollments/course/${course}/count`);
    expect(before.status).toBe(200);
    expect(before.body).toEqual({ course_id: course, count: 0 });
    for (let i = 0; i < 4; i++) expect((await enroll(await newStudent(), { course_id: course })).status).toBe(201);
    const after = await call(api.app, "GET", `/enrollments/course/${course}/count`);
    expect(after.body).toEqual({ course_id: course, count: 4 });
    expect((await call(api.app, "GET", "/enrollments/course/abc/count")).status).toBe(422);
  });
});
