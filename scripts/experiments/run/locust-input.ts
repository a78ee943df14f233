import { SQL } from "bun";
import { LAB_PASSWORD } from "../../seed/accounts";
import { SEARCH_TERMS } from "../../seed/vocabulary";

/** The seeded accounts Locust signs in as. */
const LOCUST_STUDENTS = 5_000;
const LOCUST_TEACHERS = 1_000;

export type LocustInput = { password: string; students: string[]; teachers: string[]; vocabulary: typeof SEARCH_TERMS };

/** What locustfile.py reads: the one password, seeded accounts and the seed's search terms. */
export async function readLocustInput(identityUrl: string): Promise<LocustInput> {
  const sql = new SQL({ url: identityUrl, max: 1 });
  try {
    const students: { email: string }[] =
      await sql`SELECT email FROM users WHERE role = 'student' ORDER BY id LIMIT ${LOCUST_STUDENTS}`;
    const teachers: { email: string }[] =
      await sql`SELECT email FROM users WHERE role = 'teacher' AND is_verified ORDER BY id LIMIT ${LOCUST_TEACHERS}`;
    return {
      password: LAB_PASSWORD,
      students: students.map((row) => row.email),
      teachers: teachers.map((row) => row.email),
      vocabulary: SEARCH_TERMS,
    };
  } finally {
    await sql.close();
  }
}

/** readLocustInput, written to `file` (LAB_INPUT_FILE of locustfile.py). */
export async function writeLocustInput(identityUrl: string, file: string): Promise<LocustInput> {
  const input = await readLocustInput(identityUrl);
  await Bun.write(file, JSON.stringify(input));
  return input;
}
