import { beforeAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { calibrate, calibratePostgres } from "../../scripts/experiments/run/calibration";
import { freshDatabase } from "../support";

let url: string;
beforeAll(async () => {
  url = await freshDatabase("calibration");
  const sql = new SQL({ url, max: 1 });
  try {
    await sql`CREATE TABLE courses (id serial PRIMARY KEY, title text NOT NULL, description text NOT NULL)`;
  } finally {
    await sql.close();
  }
});

async function addCourses(count: number) {
  const sql = new SQL({ url, max: 1 });
  try {
    await sql`
      INSERT INTO courses (title, description)
      SELECT 'Course ' || i, repeat('Lectures, exercises and a project. ', 6) || i FROM generate_series(1, ${count}) AS i`;
  } finally {
    await sql.close();
  }
}

test("PostgreSQL's calibration is its backend's CPU per 100,000 rows scanned, whatever the table's size", async () => {
  await expect(calibratePostgres(url)).rejects.toThrow("no courses to scan");
  await addCourses(40_000);
  const small = await calibratePostgres(url);
  await addCourses(120_000);
  const large = await calibratePostgres(url);
  expect(small).toBeGreaterThan(0);
  // 4× the rows scanned fewer times: the same CPU per row (clock ticks of 10 ms and a busy machine
  // blur it, not by 2×; per scan it would be 4×)
  expect(large / small).toBeGreaterThan(0.5);
  expect(large / small).toBeLessThan(2);
  // and the scan leaves no session behind
  const sql = new SQL({ url, max: 1 });
  try {
    const [{ sessions }] = await sql`
      SELECT count(*)::int AS sessions FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    expect(sessions).toBe(0);
  } finally {
    await sql.close();
  }
});

test("the machine's calibration times a hash and a JSON loop in CPU ms", () => {
  const calibration = calibrate(1);
  expect(calibration.rounds).toBe(1);
  expect(calibration.password_hash_cpu_ms).toBeGreaterThan(0);
  expect(calibration.json_cpu_ms).toBeGreaterThan(0);
});
