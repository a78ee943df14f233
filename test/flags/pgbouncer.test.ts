import { expect } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { type PgBouncer, startPgBouncer } from "../../scripts/lib/pgbouncer";
import { freshDatabase, testDatabaseUrl, tokenFor } from "../support";
import { needs } from "../tools";
import { type ServiceProcess, spawnService, stopService } from "./service-process";

const { afterAll, beforeAll, describe, test } = needs(["pgbouncer"]);

const SERVER_POOL = 2;
const SERVICE_POOL = 8;

let direct: string;
let bouncer: PgBouncer;
let service: ServiceProcess;
let admin: SQL;
let database: string;

beforeAll(async () => {
  direct = await freshDatabase("course");
  database = new URL(direct).pathname.slice(1);
  bouncer = await startPgBouncer({
    dir: join(tmpdir(), `lab-pgbouncer-${process.pid}`),
    databases: { course: direct },
    poolSize: SERVER_POOL,
  });
  service = await spawnService("course", {
    DATABASE_URL: bouncer.urls.course as string,
    DIRECT_DATABASE_URL: direct,
    DB_VIA_PGBOUNCER: "1",
    DB_POOL_MAX: String(SERVICE_POOL),
  });
  admin = new SQL({ url: bouncer.adminUrl, max: 1 });
});
afterAll(async () => {
  await admin?.close();
  if (service) expect(await stopService(service)).toBe(0);
  await bouncer?.stop();
});

/** PgBouncer's admin console speaks only the simple query protocol: `unsafe` without parameters uses it. */
const show = async (what: string) =>
  ((await admin.unsafe(`SHOW ${what}`)) as Record<string, unknown>[]).filter((row) => row.database === database);

describe("DB_VIA_PGBOUNCER=1", () => {
  test("PgBouncer runs in transaction mode, not as root", async () => {
    const [pool] = await show("POOLS");
    expect(pool?.pool_mode).toBe("transaction");
    const user = Bun.spawnSync(["ps", "-o", "user=", "-p", String(bouncer.pid)])
      .stdout.toString()
      .trim();
    expect(user).not.toBe("root");
    expect(user).not.toBe("");
  });

  test("the course service works through PgBouncer, and its connections really go through it", async () => {
    const teacher = await tokenFor({ role: "teacher", is_verified: true, name: "Edsger Dijkstra" });
    const body = {
      title: "Pooled course",
      description: "through pgbouncer",
      level: "advanced",
      price_cents: 0,
      duration_hours: 4,
    };
    const created = await fetch(`${service.url}/courses`, {
      method: "POST",
      headers: { authorization: `Bearer ${teacher}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };

    // Many concurrent reads: up to DB_POOL_MAX client connections, multiplexed on SERVER_POOL server ones.
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        fetch(i % 2 ? `${service.url}/courses/${id}` : `${service.url}/courses?q=pooled&limit=5`),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    expect(((await responses[0]!.json()) as { items: { id: number }[] }).items.map((c) => c.id)).toEqual([id]);

    const clients = await show("CLIENTS");
    const servers = await show("SERVERS");
    expect(clients.length).toBeGreaterThan(SERVER_POOL);
    expect(clients.length).toBeLessThanOrEqual(SERVICE_POOL);
    expect(servers.length).toBeGreaterThan(0);
    expect(servers.length).toBeLessThanOrEqual(SERVER_POOL);

    // Every backend PostgreSQL runs for this database is one of PgBouncer's server connections.
    const probe = new SQL({ url: testDatabaseUrl("postgres"), max: 1 });
    try {
      const backends: { client_port: number }[] = await probe`
        SELECT client_port FROM pg_stat_activity WHERE datname = ${database} AND backend_type = 'client backend'`;
      expect(backends.length).toBe(servers.length);
      expect(backends.map((b) => b.client_port).sort()).toEqual(servers.map((s) => Number(s.local_port)).sort());
    } finally {
      await probe.close();
    }
  });
});
