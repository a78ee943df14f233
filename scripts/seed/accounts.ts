import type { Role } from "@lab/shared";
import { SQL } from "bun";

/** The one password of every seeded and demo account (documented in the README). */
export const LAB_PASSWORD = "coursework";

export type DemoAccount = { id: number; email: string; full_name: string; role: Role; is_verified: boolean };

/**
 * Accounts for trying the platform by hand. A seeded dataset holds them as users 1–3, and
 * `bun run start` adds them to a database that lacks them.
 */
export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  { id: 1, email: "admin@lab.test", full_name: "Demo Admin", role: "admin", is_verified: true },
  { id: 2, email: "teacher@lab.test", full_name: "Demo Teacher", role: "teacher", is_verified: true },
  { id: 3, email: "student@lab.test", full_name: "Demo Student", role: "student", is_verified: false },
];

/** NODE_ENV=production: a deployed platform, which no account with the public LAB_PASSWORD may open. */
export const inProduction = () => process.env.NODE_ENV === "production";

/** Hashed as identity hashes passwords on /register, so a login costs what a real one costs. */
export const hashLabPassword = () => Bun.password.hash(LAB_PASSWORD);

/**
 * Adds the demo accounts missing from the identity database at `url` (a registration that took one
 * of their emails is left alone); returns the emails added.
 */
export async function ensureDemoAccounts(url: string): Promise<string[]> {
  const sql = new SQL({ url, max: 1 });
  try {
    const rows: { email: string }[] = await sql`SELECT email FROM users WHERE email IN ${sql(
      DEMO_ACCOUNTS.map((account) => account.email),
    )}`;
    const present = new Set(rows.map((row) => row.email));
    const missing = DEMO_ACCOUNTS.filter((account) => !present.has(account.email));
    if (missing.length === 0) return [];
    const hash = await hashLabPassword();
    const added: { email: string }[] = await sql`
      INSERT INTO users ${sql(
        missing.map(({ email, full_name, role, is_verified }) => ({
          email,
          password_hash: hash,
          full_name,
          role,
          is_verified,
        })),
      )}
      ON CONFLICT (email) DO NOTHING
      RETURNING email`;
    return added.map((row) => row.email);
  } finally {
    await sql.close();
  }
}

/**
 * What `bun run start` says about the demo accounts: adds the missing ones and prints how to log in.
 * With NODE_ENV=production there are none: a public password must not open a deployed platform.
 */
export async function showDemoAccounts(identityUrl: string, say: (line: string) => void) {
  if (inProduction()) return;
  try {
    const added = await ensureDemoAccounts(identityUrl);
    const accounts = DEMO_ACCOUNTS.map(
      ({ email, role, is_verified }) => `${email} (${role === "teacher" && is_verified ? "verified teacher" : role})`,
    );
    say(
      `demo accounts, password "${LAB_PASSWORD}": ${accounts.join(", ")}${added.length ? ` — ${added.length} added` : ""}`,
    );
  } catch (error) {
    say(`demo accounts not added: ${error instanceof Error ? error.message : error}`);
  }
}
