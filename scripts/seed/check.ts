import { SERVICE_NAMES, type ServiceName } from "@lab/shared";
import type { SQL } from "bun";
import { DEMO_ACCOUNTS } from "./accounts";
import { connect, SEED_TABLES } from "./load";
import { formatCount } from "./progress";
import { type SeedSizes, userMix } from "./sizes";

/** One thing wrong with the data: which check, how many rows break it, and a few of them. */
export type Problem = { check: string; count: number; examples: string[] };
export type CheckReport = { problems: Problem[]; counts: Record<string, number> };

const MAX_EXAMPLES = 3;

class Findings {
  readonly problems: Problem[] = [];
  private readonly open = new Map<string, Problem>();

  /** Records one row that breaks `check`. */
  add(check: string, example?: string) {
    let problem = this.open.get(check);
    if (!problem) {
      problem = { check, count: 0, examples: [] };
      this.open.set(check, problem);
      this.problems.push(problem);
    }
    problem.count++;
    if (example && problem.examples.length < MAX_EXAMPLES) problem.examples.push(example);
  }

  expectCount(what: string, actual: number, expected: number, why: string) {
    if (actual !== expected) this.add(`${what}: ${formatCount(actual)}, expected ${formatCount(expected)} (${why})`);
  }
}

type User = { role: string; verified: boolean; name: string };
type Course = { teacher: number; teacherName: string; price: number };
type Payment = { student: number; course: number; amount: number; status: string };

/**
 * Verifies a seeded dataset of `sizes` across the five databases: row counts, the demo accounts,
 * every reference between databases (owners, students, courses, payments and their amounts) and
 * the id sequences. Reads everything once; fine for the full dataset.
 */
export async function checkSeed(urls: Record<ServiceName, string>, sizes: SeedSizes): Promise<CheckReport> {
  const connections = connect(urls);
  try {
    return await check(connections, sizes);
  } finally {
    await Promise.all(SERVICE_NAMES.map((name) => connections[name].close()));
  }
}

async function check(db: Record<ServiceName, SQL>, sizes: SeedSizes): Promise<CheckReport> {
  const [userRows, courseRows, enrollmentRows, paymentRows, notificationRows, sequences] = await Promise.all([
    db.identity`SELECT id, email, role::text, is_verified, full_name FROM users`.values() as Promise<
      [number, string, string, boolean, string][]
    >,
    db.course`SELECT id, teacher_id, teacher_name, price_cents FROM courses`.values() as Promise<
      [number, number, string, number][]
    >,
    db.enrollment`SELECT id, student_id, course_id, payment_id, price_cents FROM enrollments`.values() as Promise<
      [number, number, number, number | null, number][]
    >,
    db.payment`SELECT id, student_id, course_id, amount_cents, status::text FROM payments`.values() as Promise<
      [number, number, number, number, string][]
    >,
    db.notification`SELECT count(*)::int AS n FROM notifications` as Promise<{ n: number }[]>,
    Promise.all(SERVICE_NAMES.flatMap((name) => SEED_TABLES[name].map((table) => sequenceLag(db[name], name, table)))),
  ]);
  const found = new Findings();

  const users = new Map<number, User>();
  const byEmail = new Map<string, { id: number } & User>();
  for (const [id, email, role, verified, name] of userRows) {
    users.set(id, { role, verified, name });
    byEmail.set(email, { id, role, verified, name });
  }
  const courses = new Map<number, Course>();
  for (const [id, teacher, teacherName, price] of courseRows) courses.set(id, { teacher, teacherName, price });
  const payments = new Map<number, Payment>();
  for (const [id, student, course, amount, status] of paymentRows)
    payments.set(id, { student, course, amount, status });

  const mix = userMix(sizes.users);
  const roleCount = (role: string, verified?: boolean) =>
    userRows.filter(([, , r, v]) => r === role && (verified === undefined || v === verified)).length;
  const paidEnrollments = enrollmentRows.filter(([, , , payment]) => payment !== null).length;
  found.expectCount("identity.users", userRows.length, DEMO_ACCOUNTS.length + sizes.users, "demo accounts + --users");
  found.expectCount("students", roleCount("student"), mix.students + 1, "9 in 10 seeded users + the demo student");
  found.expectCount("teachers", roleCount("teacher"), mix.teachers + 1, "1 in 10 seeded users + the demo teacher");
  found.expectCount(
    "verified teachers",
    roleCount("teacher", true),
    mix.verifiedTeachers + 1,
    "all teachers but one in ten",
  );
  found.expectCount("course.courses", courseRows.length, sizes.courses, "--courses");
  found.expectCount("enrollment.enrollments", enrollmentRows.length, sizes.enrollments, "--enrollments");
  found.expectCount("payment.payments", paymentRows.length, sizes.payments, "--payments");
  found.expectCount("paid enrollments", paidEnrollments, sizes.payments, "one per payment");

  for (const demo of DEMO_ACCOUNTS) {
    const user = byEmail.get(demo.email);
    if (!user || user.role !== demo.role || user.verified !== demo.is_verified) {
      found.add(
        "demo account missing or changed",
        `${demo.email} ${user ? `is ${user.role}${user.verified ? " (verified)" : ""}` : "is missing"}`,
      );
    }
  }

  for (const [id, course] of courses) {
    const teacher = users.get(course.teacher);
    if (teacher?.role !== "teacher" || !teacher.verified) {
      found.add(
        "course owned by someone who is not a verified teacher",
        `course ${id}: user ${course.teacher} ${teacher ? `is ${teacher.role}` : "does not exist"}`,
      );
    } else if (teacher.name !== course.teacherName) {
      found.add(
        "course teacher_name differs from the teacher's full_name",
        `course ${id}: "${course.teacherName}" vs "${teacher.name}"`,
      );
    }
  }

  const used = new Map<number, number>();
  for (const [id, studentId, courseId, paymentId, price] of enrollmentRows) {
    const student = users.get(studentId);
    if (student?.role !== "student") {
      found.add(
        "enrollment of someone who is not a student",
        `enrollment ${id}: user ${studentId} ${student ? `is ${student.role}` : "does not exist"}`,
      );
    }
    const course = courses.get(courseId);
    if (!course) {
      found.add("enrollment in a course that does not exist", `enrollment ${id}: course ${courseId}`);
      continue;
    }
    if (course.price === 0) {
      if (paymentId !== null || price !== 0) {
        found.add(
          "enrollment in a free course with a payment or a price",
          `enrollment ${id}: payment ${paymentId}, ${price} cents`,
        );
      }
      continue;
    }
    if (price !== course.price) {
      found.add(
        "enrollment price differs from its course's price",
        `enrollment ${id}: ${price} cents, course ${courseId} costs ${course.price}`,
      );
    }
    if (paymentId === null) {
      found.add("enrollment in a paid course without a payment", `enrollment ${id} in course ${courseId}`);
      continue;
    }
    used.set(paymentId, id);
    const payment = payments.get(paymentId);
    if (!payment) {
      found.add("enrollment's payment does not exist", `enrollment ${id}: payment ${paymentId}`);
    } else if (
      payment.status !== "completed" ||
      payment.student !== studentId ||
      payment.course !== courseId ||
      payment.amount !== course.price
    ) {
      found.add(
        "enrollment's payment is not a completed payment by its student for its course at its price",
        `enrollment ${id} (student ${studentId}, course ${courseId}, ${course.price} cents): payment ${paymentId} is ` +
          `${payment.status}, student ${payment.student}, course ${payment.course}, ${payment.amount} cents`,
      );
    }
  }
  for (const [id, payment] of payments) {
    if (!used.has(id)) {
      found.add("payment no enrollment uses", `payment ${id}: student ${payment.student}, course ${payment.course}`);
    }
  }

  for (const lag of sequences) if (lag) found.add("id sequence behind the rows: the next insert would fail", lag);

  return {
    problems: found.problems,
    counts: {
      "identity.users": userRows.length,
      "course.courses": courseRows.length,
      "enrollment.enrollments": enrollmentRows.length,
      "payment.payments": paymentRows.length,
      "notification.notifications": notificationRows[0]?.n ?? 0,
    },
  };
}

/** "" when the table's id sequence is past its largest id; otherwise what is wrong. */
async function sequenceLag(sql: SQL, name: ServiceName, table: string): Promise<string> {
  const [row] = await sql.unsafe(
    `SELECT (SELECT max(id) FROM ${table}) AS max_id,
            pg_sequence_last_value(pg_get_serial_sequence('${table}', 'id')::regclass) AS last_value`,
  );
  const max = Number(row?.max_id ?? 0);
  const last = Number(row?.last_value ?? 0);
  return last >= max ? "" : `${name}.${table}: largest id ${max}, sequence at ${last}`;
}
