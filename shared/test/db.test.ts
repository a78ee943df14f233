import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { Elysia } from "elysia";
import { call, freshDatabase } from "../../test/support";
import { NoCache } from "../src/cache";
import { parseEnv } from "../src/config";
import { Db, isUniqueViolation, migrate } from "../src/db";
import { HttpError } from "../src/errors";
import { Metrics } from "../src/metrics";
import { servicePlugin } from "../src/service";

let url: string;
beforeAll(async () => {
  url = await freshDatabase("shared");
});

describe("Db bounded pool", () => {
  test("a request that cannot get a connection in time fails fast with 503 and Retry-After", async () => {
    const db = new Db({ url, max: 2, acquireTimeoutMs: 100 });
    try {
      const slow = [db.query`SELECT pg_sleep(0.6)`, db.query`SELECT pg_sleep(0.6)`];
      const started = performance.now();
      const refused = await db.query`SELECT 1`.catch((error) => error);
      const waited = performance.now() - started;
      expect(refused).toBeInstanceOf(HttpError);
      expect(refused.status).toBe(503);
      expect(refused.headers["retry-after"]).toBe("1");
      // bounded by the acquire timeout, not by the 600 ms queries ahead of it
      expect(waited).toBeLessThan(550);
      expect(db.exhaustedTotal).toBe(1);
      await Promise.all(slow);
      expect(db.inUse).toBe(0);
      expect(await db.query`SELECT 2 AS two`).toEqual([{ two: 2 }]);
    } finally {
      await db.close();
    }
  });

  test("waiters get connections in order as they free up, never more than max at once", async () => {
    const db = new Db({ url, max: 2, acquireTimeoutMs: 5000 });
    try {
      let peak = 0;
      const work = Array.from({ length: 8 }, () =>
        db.run(async (sql) => {
          peak = Math.max(peak, db.inUse);
          await sql`SELECT pg_sleep(0.02)`;
        }),
      );
      await Promise.all(work);
      expect(peak).toBe(2);
      expect(db.inUse).toBe(0);
      expect(db.waiting).toBe(0);
    } finally {
      await db.close();
    }
  });

  test("an unreachable database is a 503, quickly", async () => {
    const db = new Db({ url: "postgres://postgres:postgres@127.0.0.1:1/none", max: 1, acquireTimeoutMs: 100 });
    const error = await db.query`SELECT 1`.catch((e) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error.status).toBe(503);
    expect(await db.ping(500)).toBe(false);
    expect(db.inUse).toBe(0);
  });

  test("unique violations are recognised by constraint", async () => {
    const db = new Db({ url, max: 1, acquireTimeoutMs: 1000 });
    try {
      await db.query`CREATE TABLE uniq (v text CONSTRAINT uniq_v UNIQUE)`;
      await db.query`INSERT INTO uniq VALUES ('a')`;
      const error = await db.query`INSERT INTO uniq VALUES ('a')`.catch((e) => e);
      expect(isUniqueViolation(error, "uniq_v")).toBe(true);
      expect(isUniqueViolation(error, "other")).toBe(false);
    } finally {
      await db.close();
    }
  });
});

describe("migrate", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "migrations-"));
    await writeFile(
      join(dir, "001_things.sql"),
      "CREATE TABLE IF NOT EXISTS things (id int); INSERT INTO things VALUES (1);",
    );
    await writeFile(join(dir, "002_more.sql"), "INSERT INTO things VALUES (2);");
    await writeFile(join(dir, "notes.txt"), "not a migration");
  });

  test("applies each file once, in order, even when run twice and concurrently", async () => {
    const target = await freshDatabase("migrate");
    const clients = [new SQL({ url: target, max: 1 }), new SQL({ url: target, max: 1 })];
    try {
      const results = await Promise.all(clients.map((sql) => migrate(sql, dir)));
      expect(results.flat().sort()).toEqual(["001_things.sql", "002_more.sql"]);
      expect(await migrate(clients[0] as SQL, dir)).toEqual([]);
      const rows = await (clients[0] as SQL)`SELECT id FROM things ORDER BY id`;
      expect(rows.map((r: { id: number }) => r.id)).toEqual([1, 2]);
    } finally {
      await Promise.all(clients.map((sql) => sql.close()));
    }
  });

  test("the real service migrations run twice without error", async () => {
    const target = await freshDatabase("svc");
    const sql = new SQL({ url: target, max: 1 });
    try {
      for (const service of ["identity", "course"]) {
        const folder = join(import.meta.dir, `../../services/${service}/migrations`);
        expect((await migrate(sql, folder)).length).toBeGreaterThan(0);
        expect(await migrate(sql, folder)).toEqual([]);
      }
    } finally {
      await sql.close();
    }
  });
});

describe("service plugin", () => {
  const build = (dbUrl: string) => {
    const config = parseEnv({ DATABASE_URL: dbUrl }, 8999);
    const db = new Db({ url: dbUrl, max: 1, acquireTimeoutMs: 100 });
    const app = new Elysia()
      .use(servicePlugin({ name: "probe", config, db, metrics: new Metrics("probe"), cache: new NoCache() }))
      .get("/boom", () => {
        throw new Error("secret internals");
      });
    return { app, db };
  };

  test("/readyz is 200 with a database and 503 without one", async () => {
    const up = build(url);
    const down = build("postgres://postgres:postgres@127.0.0.1:1/none");
    expect((await call(up.app, "GET", "/readyz")).status).toBe(200);
    const notReady = await call(down.app, "GET", "/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.body.error).toBe("not_ready");
    expect((await call(down.app, "GET", "/healthz")).status).toBe(200);
    await up.db.close();
  });

  test("an unknown error is a 500 with a request id and no internals; HTMX gets an HTML fragment", async () => {
    const { app, db } = build(url);
    const json = await call(app, "GET", "/boom", { headers: { "x-request-id": "req-42" } });
    expect(json.status).toBe(500);
    expect(json.body).toEqual({
      error: "internal",
      message: "Internal error; quote this request id when reporting it",
      request_id: "req-42",
    });
    expect(json.text).not.toContain("secret internals");
    const html = await call(app, "GET", "/nowhere", { headers: { "hx-request": "true" } });
    expect(html.status).toBe(404);
    expect(html.headers.get("content-type")).toContain("text/html");
    expect(html.text).toBe('<div class="error" role="alert" data-error="not_found">No such route</div>');
    await db.close();
  });
});

describe("validation errors", () => {
  test("a query array that fails to decode is a 422, not a 500", async () => {
    const { t } = await import("elysia");
    const config = parseEnv({ DATABASE_URL: url }, 8999);
    const db = new Db({ url, max: 1, acquireTimeoutMs: 100 });
    const app = new Elysia()
      .use(servicePlugin({ name: "probe", config, db, metrics: new Metrics("probe"), cache: new NoCache() }))
      .get("/ids", ({ query }) => query, { query: t.Object({ ids: t.Array(t.Integer()) }) });
    for (const query of ["ids=1,x", "ids=abc", ""]) {
      const response = await call(app, "GET", `/ids?${query}`);
      expect(response.status).toBe(422);
      expect(response.body.error).toBe("validation");
    }
    expect((await call(app, "GET", "/ids")).body.message).toContain("ids");
    expect((await call(app, "GET", "/ids?ids=1,x")).body.message).toBe("request: 1: Expected union value");
    await db.close();
  });
});
