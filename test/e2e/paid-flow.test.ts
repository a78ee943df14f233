import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ROOT, type Stack } from "../../scripts/lib/stack";
import { http, throwAwayStack } from "../support";

/**
 * The roadmap's flows over real HTTP, against every service started by the launcher of
 * `bun run start` (own PostgreSQL, free ports, a throw-away data directory).
 */
let stack: Stack;

beforeAll(async () => {
  stack = await throwAwayStack("lab-e2e");
}, 120_000);

afterAll(() => stack?.stop(), 30_000);

async function account(email: string, role: "student" | "teacher") {
  const password = "long enough password";
  const registered = await http("POST", `${stack.urls.identity}/register`, {
    body: { email, password, full_name: email.split("@")[0], role },
  });
  expect(registered.status).toBe(201);
  return { id: registered.body.id as number, login: () => login(email, password) };
}

async function login(email: string, password: string): Promise<string> {
  const response = await http("POST", `${stack.urls.identity}/login`, { body: { email, password } });
  expect(response.status).toBe(200);
  return response.body.access_token;
}

describe("paid enrollment end to end", () => {
  test("the launcher starts all five services", () => {
    expect(Object.keys(stack.urls)).toEqual(
      expect.arrayContaining(["identity", "course", "enrollment", "payment", "notification"]),
    );
  });

  test("a student joins a free and a paid course, is notified, and cannot cheat the payment check", async () => {
    const { urls } = stack;
    // an admin, made as the README says, verifies the teacher
    const admin = Bun.spawnSync(["bun", "scripts/admin-create.ts", "admin@e2e.test", "--password", "admin password"], {
      cwd: ROOT,
      env: { ...process.env, IDENTITY_DATABASE_URL: stack.databaseUrls.identity },
    });
    expect(admin.exitCode).toBe(0);
    const adminToken = await login("admin@e2e.test", "admin password");
    const teacher = await account("tess@e2e.test", "teacher");
    expect((await http("POST", `${urls.identity}/users/${teacher.id}/verify`, { token: adminToken })).status).toBe(200);
    const teacherToken = await teacher.login();

    const newCourse = async (title: string, price_cents: number) => {
      const response = await http("POST", `${urls.course}/courses`, {
        token: teacherToken,
        body: { title, description: "e2e", level: "beginner", price_cents, duration_hours: 3 },
      });
      expect(response.status).toBe(201);
      return response.body as { id: number; price_cents: number };
    };
    const free = await newCourse("Free: SQL basics", 0);
    const paid = await newCourse("Paid: Query tuning", 2900);

    const student = await (await account("sam@e2e.test", "student")).login();

    // free: enroll directly
    const freeEnrollment = await http("POST", `${urls.enrollment}/enrollments`, {
      token: student,
      body: { course_id: free.id },
    });
    expect(freeEnrollment.status).toBe(201);

    // paid: 402 first, then pay (a retry with the same key is the same payment), enroll, notify
    const unpaid = await http("POST", `${urls.enrollment}/enrollments`, {
      token: student,
      body: { course_id: paid.id },
    });
    expect(unpaid.status).toBe(402);
    const payment = await http("POST", `${urls.payment}/payments`, {
      token: student,
      body: { course_id: paid.id, amount_cents: paid.price_cents },
      headers: { "idempotency-key": "e2e-checkout-1" },
    });
    expect(payment.status).toBe(201);
    expect(payment.body.status).toBe("completed");
    const retried = await http("POST", `${urls.payment}/payments`, {
      token: student,
      body: { course_id: paid.id, amount_cents: paid.price_cents },
      headers: { "idempotency-key": "e2e-checkout-1" },
    });
    expect(retried.body.id).toBe(payment.body.id);

    const paidEnrollment = await http("POST", `${urls.enrollment}/enrollments`, {
      token: student,
      body: { course_id: paid.id, payment_id: payment.body.id },
    });
    expect(paidEnrollment.status).toBe(201);
    expect(paidEnrollment.body).toMatchObject({ payment_id: payment.body.id, price_cents: 2900 });
    const notified = await http("POST", `${urls.notification}/notifications`, {
      token: student,
      body: { type: "enrollment.created", message: "You joined Paid: Query tuning" },
    });
    expect(notified.status).toBe(201);

    const mine = await http("GET", `${urls.enrollment}/enrollments/me`, { token: student });
    expect(mine.body.items.map((e: { course_title: string }) => e.course_title)).toEqual([
      "Paid: Query tuning",
      "Free: SQL basics",
    ]);
    const inbox = await http("GET", `${urls.notification}/notifications/me`, { token: student });
    expect(inbox.body).toMatchObject({ unread_count: 1, items: [{ type: "enrollment.created", read: false }] });

    // the ways to cheat: a spent payment, someone else's payment, a cheaper payment, the wrong course
    const other = await (await account("oscar@e2e.test", "student")).login();
    const enrollOther = (body: Record<string, unknown>) =>
      http("POST", `${urls.enrollment}/enrollments`, { token: other, body });
    // a spent payment is someone else's for anyone else: refused before the INSERT could say "spent"
    expect((await enrollOther({ course_id: paid.id, payment_id: payment.body.id })).status).toBe(402);
    const studentsSpare = await http("POST", `${urls.payment}/payments`, {
      token: student,
      body: { course_id: paid.id, amount_cents: paid.price_cents },
    });
    expect((await enrollOther({ course_id: paid.id, payment_id: studentsSpare.body.id })).status).toBe(402);
    const cheap = await http("POST", `${urls.payment}/payments`, {
      token: other,
      body: { course_id: paid.id, amount_cents: 100 },
    });
    expect((await enrollOther({ course_id: paid.id, payment_id: cheap.body.id })).status).toBe(402);
    const forFree = await http("POST", `${urls.payment}/payments`, {
      token: other,
      body: { course_id: free.id, amount_cents: paid.price_cents },
    });
    expect((await enrollOther({ course_id: paid.id, payment_id: forFree.body.id })).status).toBe(402);
    expect((await http("GET", `${urls.payment}/payments/${payment.body.id}`, { token: other })).status).toBe(404);

    const count = await http("GET", `${urls.enrollment}/enrollments/course/${paid.id}/count`);
    expect(count.body).toEqual({ course_id: paid.id, count: 1 });
  }, 60_000);
});
