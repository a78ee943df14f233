import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { DEVELOPMENT_JWT_SECRET } from "@lab/shared";
import { forgeToken } from "./hostile";
import { http, type Platform, type PlatformUser, startPlatform } from "./platform";

// real PostgreSQL, real processes and password hashing on a shared 2-core machine
setDefaultTimeout(30_000);

/**
 * What belongs to someone stays theirs: another user gets a 404 (the same as for an id that does
 * not exist, so ids cannot be probed), an anonymous caller a 401; nobody raises their own role.
 */
let platform: Platform;
let alice: PlatformUser;
let bob: PlatformUser;
let teacher: PlatformUser;
let paidCourse: { id: number; price_cents: number };

beforeAll(async () => {
  platform = await startPlatform();
  alice = await platform.user("student");
  bob = await platform.user("student");
  teacher = await platform.user("teacher", { verified: true });
  const created = await http("POST", `${platform.urls.course}/courses`, {
    token: teacher.token,
    body: { title: "Paid course", description: "", level: "beginner", price_cents: 2500, duration_hours: 2 },
  });
  expect(created.status).toBe(201);
  paidCourse = created.body;
});
afterAll(() => platform.close());

const pay = (user: PlatformUser, extra: Record<string, unknown> = {}, key?: string) =>
  http("POST", `${platform.urls.payment}/payments`, {
    token: user.token,
    body: { course_id: paidCourse.id, amount_cents: paidCourse.price_cents, ...extra },
    headers: key ? { "idempotency-key": key } : {},
  });

describe("payments", () => {
  test("another student gets the same 404 as for a payment that does not exist; anonymous 401", async () => {
    const payment = (await pay(alice)).body;
    const url = `${platform.urls.payment}/payments/${payment.id}`;
    expect((await http("GET", url, { token: alice.token })).status).toBe(200);
    const foreign = await http("GET", url, { token: bob.token });
    const missing = await http("GET", `${platform.urls.payment}/payments/2000000000`, { token: bob.token });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(missing.body);
    expect((await http("GET", url)).status).toBe(401);
    expect((await http("GET", `${platform.urls.payment}/payments/me`)).status).toBe(401);
    const bobs = await http("GET", `${platform.urls.payment}/payments/me`, { token: bob.token });
    expect(bobs.body.items.map((p: { id: number }) => p.id)).not.toContain(payment.id);
  });

  test("another student's Idempotency-Key makes a new payment of their own, never returns the first one", async () => {
    const first = (await pay(alice, {}, "shared-key-1")).body;
    const other = await pay(bob, {}, "shared-key-1");
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.id);
    expect(other.body.student_id).toBe(bob.id);
  });

  test("ownership and status in the body are ignored: the payment is the caller's and completed", async () => {
    const response = await pay(bob, { student_id: alice.id, status: "refunded", id: 1, amount: 1 });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ student_id: bob.id, status: "completed" });
  });
});

describe("enrollments", () => {
  test("another student cannot enroll with someone else's payment, and nothing is written", async () => {
    const payment = (await pay(alice)).body;
    const stolen = await http("POST", `${platform.urls.enrollment}/enrollments`, {
      token: bob.token,
      body: { course_id: paidCourse.id, payment_id: payment.id },
    });
    expect(stolen.status).toBe(402);
    const rows = await platform.harness.enrollment.db.query`SELECT 1 FROM enrollments WHERE student_id = ${bob.id}`;
    expect(rows).toHaveLength(0);
    // the payment is still good for its owner
    const own = await http("POST", `${platform.urls.enrollment}/enrollments`, {
      token: alice.token,
      body: { course_id: paidCourse.id, payment_id: payment.id },
    });
    expect(own.status).toBe(201);
  });

  test("each student's list holds only their own enrollments; anonymous 401; teachers cannot enroll", async () => {
    const bobs = await http("GET", `${platform.urls.enrollment}/enrollments/me`, { token: bob.token });
    expect(bobs.status).toBe(200);
    expect(bobs.body.items.every((e: { student_id: number }) => e.student_id === bob.id)).toBe(true);
    const alices = await http("GET", `${platform.urls.enrollment}/enrollments/me`, { token: alice.token });
    expect(alices.body.items.length).toBeGreaterThan(0);
    expect(alices.body.items.every((e: { student_id: number }) => e.student_id === alice.id)).toBe(true);
    expect((await http("GET", `${platform.urls.enrollment}/enrollments/me`)).status).toBe(401);
    expect(
      (await http("POST", `${platform.urls.enrollment}/enrollments`, { body: { course_id: paidCourse.id } })).status,
    ).toBe(401);
    const byTeacher = await http("POST", `${platform.urls.enrollment}/enrollments`, {
      token: teacher.token,
      body: { course_id: paidCourse.id },
    });
    expect(byTeacher.status).toBe(403);
  });

  test("the student id in the body is ignored: the enrollment is the caller's", async () => {
    const course = await http("POST", `${platform.urls.course}/courses`, {
      token: teacher.token,
      body: { title: "Free course", description: "", level: "beginner", price_cents: 0, duration_hours: 1 },
    });
    const enrolled = await http("POST", `${platform.urls.enrollment}/enrollments`, {
      token: bob.token,
      body: { course_id: course.body.id, student_id: alice.id },
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body.student_id).toBe(bob.id);
  });
});

describe("notifications", () => {
  test("another user cannot read or mark someone's notification; anonymous 401", async () => {
    const url = platform.urls.notification;
    const created = await http("POST", `${url}/notifications`, {
      token: alice.token,
      body: { type: "enrollment.created", message: "You joined", user_id: bob.id },
    });
    expect(created.status).toBe(201);
    expect(created.body.user_id).toBe(alice.id);

    const foreign = await http("PATCH", `${url}/notifications/${created.body.id}/read`, { token: bob.token });
    const missing = await http("PATCH", `${url}/notifications/2000000000/read`, { token: bob.token });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(missing.body);
    expect((await http("PATCH", `${url}/notifications/${created.body.id}/read`)).status).toBe(401);
    expect((await http("GET", `${url}/notifications/me`)).status).toBe(401);
    expect((await http("POST", `${url}/notifications`, { body: { type: "x", message: "y" } })).status).toBe(401);

    const bobs = await http("GET", `${url}/notifications/me`, { token: bob.token });
    expect(bobs.body.items.map((n: { id: number }) => n.id)).not.toContain(created.body.id);
    const alices = await http("GET", `${url}/notifications/me`, { token: alice.token });
    expect(alices.body.items.find((n: { id: number }) => n.id === created.body.id)?.read).toBe(false);
  });
});

describe("teachers' data and verification", () => {
  test("a course is always the creating teacher's, whatever the body says", async () => {
    const other = await platform.user("teacher", { verified: true });
    const created = await http("POST", `${platform.urls.course}/courses`, {
      token: other.token,
      body: {
        title: "Mine",
        description: "",
        level: "beginner",
        price_cents: 0,
        duration_hours: 1,
        teacher_id: teacher.id,
        teacher_name: "Someone else",
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.teacher_id).toBe(other.id);
  });

  test("only a verified teacher creates courses; only an admin verifies; a profile is read with its own token", async () => {
    const course = { title: "T", description: "", level: "beginner", price_cents: 0, duration_hours: 1 };
    const unverified = await platform.user("teacher");
    expect((await http("POST", `${platform.urls.course}/courses`, { body: course })).status).toBe(401);
    expect((await http("POST", `${platform.urls.course}/courses`, { token: alice.token, body: course })).status).toBe(
      403,
    );
    expect(
      (await http("POST", `${platform.urls.course}/courses`, { token: unverified.token, body: course })).status,
    ).toBe(403);

    const verify = `${platform.urls.identity}/users/${unverified.id}/verify`;
    expect((await http("POST", verify)).status).toBe(401);
    expect((await http("POST", verify, { token: unverified.token })).status).toBe(403);
    expect((await http("POST", verify, { token: teacher.token })).status).toBe(403);
    expect((await http("POST", verify, { token: alice.token })).status).toBe(403);

    const me = await http("GET", `${platform.urls.identity}/me`, { token: teacher.token });
    expect(me.body).toMatchObject({ id: teacher.id, email: teacher.email });
    expect((await http("GET", `${platform.urls.identity}/me`)).status).toBe(401);
  });
});

describe("role escalation", () => {
  const register = (body: Record<string, unknown>) => http("POST", `${platform.urls.identity}/register`, { body });
  let accounts = 0;
  const fresh = () => ({
    email: `climber${++accounts}@escalation.test`,
    password: "a long enough password",
    full_name: "Climber",
  });

  test("/register refuses the admin role in every spelling", async () => {
    for (const role of ["admin", "ADMIN", "Admin", " admin", "admin ", ["admin"], { role: "admin" }, null]) {
      const response = await register({ ...fresh(), role });
      expect({ role, status: response.status }).toEqual({ role, status: 422 });
    }
  });

  test("extra fields on /register (is_verified, id, role claims) are ignored: a new teacher is unverified", async () => {
    const account = fresh();
    const response = await register({
      ...account,
      role: "teacher",
      is_verified: true,
      id: 1,
      admin: true,
      claims: { role: "admin" },
      __proto__: { is_verified: true },
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ role: "teacher", is_verified: false });
    const login = await http("POST", `${platform.urls.identity}/login`, {
      body: { email: account.email, password: account.password },
    });
    const token = login.body.access_token as string;
    const claims = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString());
    expect(claims).toMatchObject({ role: "teacher", is_verified: false });
    const course = { title: "T", description: "", level: "beginner", price_cents: 0, duration_hours: 1 };
    expect((await http("POST", `${platform.urls.course}/courses`, { token, body: course })).status).toBe(403);
  });

  test("a student who edits their own token into an admin's is refused (401), however it is re-signed", async () => {
    const [header, payload] = alice.token.split(".") as [string, string];
    const claims = { ...JSON.parse(Buffer.from(payload, "base64url").toString()), role: "admin", is_verified: true };
    const verify = `${platform.urls.identity}/users/${alice.id}/verify`;
    const edited = {
      "old signature": `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${alice.token.split(".")[2]}`,
      "alg none": forgeToken({ alg: "none", typ: "JWT" }, claims, null),
      "guessed secret": forgeToken({ alg: "HS256", typ: "JWT" }, claims, "secret"),
      "empty secret": forgeToken({ alg: "HS256", typ: "JWT" }, claims, ""),
    };
    for (const [how, token] of Object.entries(edited)) {
      const response = await http("POST", verify, { token });
      expect({ how, status: response.status }).toEqual({ how, status: 401 });
    }
    // the control: the same claims signed with the platform's secret would be accepted
    const genuine = forgeToken({ alg: "HS256", typ: "JWT" }, claims, DEVELOPMENT_JWT_SECRET);
    expect((await http("POST", verify, { token: genuine })).status).toBe(200);
  });
});
