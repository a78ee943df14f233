import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { databaseUrlVar, migrate, SERVICE_NAMES, type ServiceName } from "@lab/shared";
import { SQL } from "bun";
import { runCommand } from "../scripts/lib/process";
import { DEMO_ACCOUNTS, ensureDemoAccounts, LAB_PASSWORD } from "../scripts/seed/accounts";
import { checkSeed } from "../scripts/seed/check";
import { generateDataset, tableLoads } from "../scripts/seed/generate";
import { migrationsOf, seedDatabases } from "../scripts/seed/load";
import { SeedError, type SeedSizes, userMix } from "../scripts/seed/sizes";
import {
  AUDIENCES,
  FIRST_NAMES,
  FORMATS,
  LAST_NAMES,
  OPENINGS,
  OUTCOMES,
  RARE_WORDS,
  SEARCH_TERMS,
  TITLE_TEMPLATES,
  TOPICS,
} from "../scripts/seed/vocabulary";
import { identityApp } from "../services/identity/src/app";
import { freshDatabase, type Harness, serviceHarness } from "./support";

const SIZES: SeedSizes = { users: 60, courses: 90, enrollments: 240, payments: 50 };
const ROOT = join(import.meta.dir, "..");

async function freshDatabases(): Promise<Record<ServiceName, string>> {
  const urls = {} as Record<ServiceName, string>;
  for (const name of SERVICE_NAMES) urls[name] = await freshDatabase(`seed_${name}`);
  return urls;
}

async function query<Row = Record<string, unknown>>(url: string, text: string): Promise<Row[]> {
  const sql = new SQL({ url, max: 1 });
  try {
    return await sql.unsafe(text);
  } finally {
    await sql.close();
  }
}

/** Every seeded row but the password hashes, which Bun.password salts anew on each run. */
async function dump(urls: Record<ServiceName, string>) {
  return {
    users: await query(
      urls.identity,
      "SELECT id, email, full_name, role, is_verified, created_at FROM users ORDER BY id",
    ),
    courses: await query(urls.course, "SELECT * FROM courses ORDER BY id"),
    enrollments: await query(urls.enrollment, "SELECT * FROM enrollments ORDER BY id"),
    payments: await query(urls.payment, "SELECT * FROM payments ORDER BY id"),
  };
}

const seed = (urls: Record<ServiceName, string>, seedNumber: number, reset = false) =>
  seedDatabases({ urls, sizes: SIZES, seed: seedNumber, reset });

/** Runs seed.ts as a user would, against `urls` through the <SERVICE>_DATABASE_URL variables. */
async function cli(urls: Record<ServiceName, string>, ...args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of SERVICE_NAMES) env[databaseUrlVar(name)] = urls[name];
  const { stdout, stderr, code } = await runCommand(["bun", "seed.ts", ...args], { cwd: ROOT, env });
  return { code, out: stdout + stderr };
}
const sizeFlags = Object.entries(SIZES).flatMap(([key, value]) => [`--${key}`, String(value)]);

// Two sets of five databases: `first` is seeded once and stays pristine (its identity database is the
// identity app's, to log in against); `second` is re-seeded, refused, reset and finally corrupted.
let identity: Harness;
let first: Record<ServiceName, string>;
let second: Record<ServiceName, string>;
beforeAll(async () => {
  identity = await serviceHarness("identity", migrationsOf("identity"), identityApp);
  first = { ...(await freshDatabases()), identity: identity.url };
  second = await freshDatabases();
  await seed(first, 7);
});
afterAll(() => identity.close());

describe("seedDatabases", () => {
  test("fills every table with the sizes asked for, one password hash for all users", async () => {
    const rows = await query<{ users: number; hashes: number }>(
      first.identity,
      "SELECT count(*)::int AS users, count(DISTINCT password_hash)::int AS hashes FROM users",
    );
    expect(rows[0]).toEqual({ users: SIZES.users + DEMO_ACCOUNTS.length, hashes: 1 });
    const data = await dump(first);
    expect([data.courses.length, data.enrollments.length, data.payments.length]).toEqual([
      SIZES.courses,
      SIZES.enrollments,
      SIZES.payments,
    ]);
    expect(new Set(data.courses.map((c) => c.level))).toEqual(new Set(["beginner", "intermediate", "advanced"]));
    expect(data.courses.some((c) => c.price_cents === 0)).toBe(true);
  });

  test("a database holding only the demo accounts (as `bun run start` adds them) is seeded like an empty one", async () => {
    const migrator = new SQL({ url: second.identity, max: 1 });
    await migrate(migrator, migrationsOf("identity"));
    await migrator.close();
    expect(await ensureDemoAccounts(second.identity)).toEqual(DEMO_ACCOUNTS.map((account) => account.email));
    expect(await ensureDemoAccounts(second.identity)).toEqual([]);
    expect(await query(second.identity, "SELECT id, email, role::text, is_verified FROM users ORDER BY id")).toEqual(
      DEMO_ACCOUNTS.map(({ id, email, role, is_verified }) => ({ id, email, role, is_verified })),
    );

    await seed(second, 7);
    expect(await dump(second)).toEqual(await dump(first));
  });

  test("another seed gives other rows", async () => {
    await seed(second, 8, true);
    const other = await dump(second);
    const original = await dump(first);
    expect(other.courses).not.toEqual(original.courses);
    expect(other.enrollments).not.toEqual(original.enrollments);
    expect(other.users.map((u) => u.full_name)).not.toEqual(original.users.map((u) => u.full_name));
  });

  test("a database holding data is refused without --reset, and left as it was", async () => {
    const before = await dump(second);
    const refusal = seed(second, 7);
    await expect(refusal).rejects.toBeInstanceOf(SeedError);
    await expect(refusal).rejects.toThrow(
      /already hold data \(identity\.users: 60 rows, course\.courses: 90 rows.*--reset/,
    );
    expect(await dump(second)).toEqual(before);
  });

  test("sizes that cannot be satisfied are refused before anything is emptied", async () => {
    const before = await dump(second);
    const tooMany = seedDatabases({
      urls: second,
      sizes: { users: 3, courses: 2, enrollments: 50, payments: 0 },
      seed: 1,
      reset: true,
    });
    await expect(tooMany).rejects.toThrow(/do not fit .* without enrolling someone twice/);
    expect(await dump(second)).toEqual(before);
  });

  test("--reset empties the tables, notifications included, and ids continue after the seeded ones", async () => {
    await query(second.notification, "INSERT INTO notifications (user_id, type, message) VALUES (4, 'x', 'y')");
    await seed(second, 7, true);
    expect(await dump(second)).toEqual(await dump(first));
    expect(await query(second.notification, "SELECT * FROM notifications")).toEqual([]);
    const [next] = await query<{ id: number }>(
      second.course,
      "INSERT INTO courses (title, description, level, price_cents, duration_hours, teacher_id, teacher_name) " +
        "VALUES ('New', 'x', 'beginner', 0, 1, 4, 'x') RETURNING id",
    );
    expect(next?.id).toBe(SIZES.courses + 1);
    await query(second.course, `DELETE FROM courses WHERE id = ${next?.id}`);
  });
});

describe("seeded credentials", () => {
  const login = async (email: string, password = LAB_PASSWORD) => {
    const response = await identity.request("POST", "/login", { body: { email, password } });
    if (response.status !== 200) return { status: response.status, me: undefined };
    const me = await identity.request("GET", "/me", { token: response.body.access_token });
    return { status: response.status, me: me.body };
  };

  test("students, verified and unverified teachers and the demo accounts log in with the one password", async () => {
    const { teachers, verifiedTeachers, students } = userMix(SIZES.users);
    expect(verifiedTeachers).toBeGreaterThan(0);
    expect(verifiedTeachers).toBeLessThan(teachers);
    expect((await login(`student${students}@lab.test`)).me).toMatchObject({ role: "student" });
    expect((await login(`teacher${verifiedTeachers}@lab.test`)).me).toMatchObject({
      role: "teacher",
      is_verified: true,
    });
    expect((await login(`teacher${teachers}@lab.test`)).me).toMatchObject({ role: "teacher", is_verified: false });
    expect((await login("admin@lab.test")).me).toMatchObject({ id: 1, role: "admin" });
    expect((await login("student1@lab.test", "not the password")).status).toBe(401);
  });
});

describe("with NODE_ENV=production", () => {
  /** Runs `body` with NODE_ENV=production, as a deployed platform's environment has it. */
  async function inProduction<T>(body: () => Promise<T>): Promise<T> {
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = "production";
    try {
      return await body();
    } finally {
      process.env.NODE_ENV = before;
    }
  }
  /** Rows in identity's users table; 0 when the migrations never ran. */
  async function usersIn(url: string) {
    const [table] = await query<{ exists: boolean }>(url, "SELECT to_regclass('users') IS NOT NULL AS exists");
    if (!table?.exists) return 0;
    return (await query<{ n: number }>(url, "SELECT count(*)::int AS n FROM users"))[0]?.n;
  }

  test("seedDatabases refuses to write accounts with the public password, before touching a database", async () => {
    const urls = await freshDatabases();
    const refusal = inProduction(() => seed(urls, 7));
    await expect(refusal).rejects.toBeInstanceOf(SeedError);
    await expect(refusal).rejects.toThrow(/NODE_ENV=production.*admin@lab\.test.*admin:create.*--known-passwords/);
    expect(await usersIn(urls.identity)).toBe(0);
  });

  test("knownPasswords, a lab's own stack (the experiment runner's), seeds all the same", async () => {
    const urls = await freshDatabases();
    await inProduction(() => seedDatabases({ urls, sizes: SIZES, seed: 7, knownPasswords: true }));
    expect(await usersIn(urls.identity)).toBe(SIZES.users + DEMO_ACCOUNTS.length);
  });

  test("bun run seed refuses it in one line, and --known-passwords seeds with a warning", async () => {
    const urls = await freshDatabases();
    const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: "production" };
    for (const name of SERVICE_NAMES) env[databaseUrlVar(name)] = urls[name];
    const refused = await runCommand(["bun", "seed.ts", ...sizeFlags], { cwd: ROOT, env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^seed: NODE_ENV=production: .*admin:create.*--known-passwords/m);
    expect(await usersIn(urls.identity)).toBe(0);
    const allowed = await runCommand(["bun", "seed.ts", ...sizeFlags, "--known-passwords"], { cwd: ROOT, env });
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain("WARNING");
    expect(await usersIn(urls.identity)).toBe(SIZES.users + DEMO_ACCOUNTS.length);
  }, 60_000);
});

describe("seed --check", () => {
  test("passes on a seeded dataset", async () => {
    const result = await cli(first, "--check", ...sizeFlags);
    expect(result.out).toContain("seed check: OK");
    expect(result.code).toBe(0);
  });

  test("checks the counts against the sizes given", async () => {
    const result = await cli(first, "--check", ...sizeFlags, "--courses", "91");
    expect(result.out).toContain("course.courses: 90, expected 91");
    expect(result.code).toBe(1);
  });

  test("names the broken check: a paid enrollment whose price no longer matches its course", async () => {
    const [paid] = await query<{ id: number; price_cents: number }>(
      second.enrollment,
      "SELECT id, price_cents FROM enrollments WHERE payment_id IS NOT NULL ORDER BY id LIMIT 1",
    );
    await query(second.enrollment, `UPDATE enrollments SET price_cents = price_cents + 1 WHERE id = ${paid?.id}`);
    const result = await cli(second, "--check", ...sizeFlags);
    expect(result.code).toBe(1);
    expect(result.out).toContain("✗ enrollment price differs from its course's price");
    expect(result.out).toContain(`enrollment ${paid?.id}: ${(paid?.price_cents ?? 0) + 1} cents`);
  });

  test("finds a teacher turned student, a lost payment and a sequence left behind", async () => {
    const [course] = await query<{ teacher_id: number }>(second.course, "SELECT teacher_id FROM courses LIMIT 1");
    await query(second.identity, `UPDATE users SET role = 'student' WHERE id = ${course?.teacher_id}`);
    await query(second.payment, "DELETE FROM payments WHERE id = 1");
    await query(second.course, "SELECT setval(pg_get_serial_sequence('courses', 'id'), 5)");
    const checks = (await checkSeed(second, SIZES)).problems.map((problem) => problem.check);
    expect(checks).toContain("course owned by someone who is not a verified teacher");
    expect(checks).toContain("enrollment's payment does not exist");
    expect(checks).toContain("id sequence behind the rows: the next insert would fail");
    expect(checks).toContain(`payment.payments: ${SIZES.payments - 1}, expected ${SIZES.payments} (--payments)`);
  });
});

describe("generated text", () => {
  const courses = 4_000;
  const dataset = generateDataset(11, { users: 100, courses, enrollments: 0, payments: 0 });

  test("common search terms match many courses, rare ones a few but never none", async () => {
    const load = tableLoads(dataset, Promise.resolve("x")).find((l) => l.table === "courses");
    let text = "";
    for (const chunk of load?.chunks() ?? []) text += chunk.text;
    const rows = text.toLowerCase().split("\n").slice(0, -1);
    expect(rows.length).toBe(courses);
    const matching = (term: string) => rows.filter((row) => row.includes(term)).length;
    for (const term of SEARCH_TERMS.common) expect([term, matching(term) >= courses / 100]).toEqual([term, true]);
    for (const term of RARE_WORDS) {
      const count = matching(term);
      expect([term, count >= 1 && count <= courses / 200]).toEqual([term, true]);
    }
  });

  test("no rare word hides inside the rest of the vocabulary, names included", () => {
    const vocabulary = [
      ...TOPICS.flatMap((topic) => [topic.name, ...topic.subjects]),
      ...Object.values(TITLE_TEMPLATES).flat(),
      ...OPENINGS,
      ...OUTCOMES,
      ...AUDIENCES,
      ...FORMATS,
      ...FIRST_NAMES,
      ...LAST_NAMES,
    ]
      .join(" ")
      .toLowerCase();
    for (const word of RARE_WORDS) expect([word, vocabulary.includes(word)]).toEqual([word, false]);
  });
});
