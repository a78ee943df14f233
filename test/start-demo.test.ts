/**
 * `bun run start`'s first look at the product: on empty databases it adds a small demo catalog, so
 * the course service answers `GET /courses?limit=1` with a course; a database that holds data (or
 * `--no-demo`) is left as it is. The launcher runs as a user runs it, on its own embedded PostgreSQL
 * in a temporary data directory (`--data-dir`), on free ports.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { databaseUrlVar, SERVICE_NAMES, type ServiceName } from "@lab/shared";
import { SQL } from "bun";
import { freePort } from "../scripts/lib/postgres";
import { ROOT } from "../scripts/lib/stack";
import { addDemoCatalog, START_DEMO_SIZES } from "../scripts/seed/demo";
import { freshDatabase, waitUntil } from "./support";

const START_TIMEOUT_MS = 60_000;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A data directory the embedded server's own user can enter (mkdtemp's is 0700, and root runs initdb as postgres). */
function dataDir() {
  const dir = mkdtempSync(join(tmpdir(), "lab-start-demo-"));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

/** `bun run start` on `dir` until it is ready; `use` sees the course service, then SIGINT stops it all. */
async function withStart(
  dir: string,
  args: string[],
  use: (urls: { course: string; identity: string }) => Promise<void>,
) {
  const ports = Object.fromEntries([...SERVICE_NAMES, "web", "pg"].map((name) => [name, freePort()]));
  const env: Record<string, string> = { ...(process.env as Record<string, string>), LOG_LEVEL: "warn" };
  for (const name of SERVICE_NAMES) delete env[databaseUrlVar(name)];
  for (const [name, port] of Object.entries(ports)) env[`${name.toUpperCase()}_PORT`] = String(port);
  const child = Bun.spawn(["bun", join(ROOT, "scripts/start.ts"), "--data-dir", dir, ...args], {
    cwd: ROOT,
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const chunks: string[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) chunks.push(decoder.decode(chunk));
  })();
  try {
    await waitUntil(async () => chunks.join("").includes("Ctrl-C stops everything") || child.exitCode !== null, {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 50,
      failure: "bun run start did not become ready in time",
    });
    if (child.exitCode !== null) throw new Error(`bun run start exited: ${await new Response(child.stderr).text()}`);
    await use({ course: `http://127.0.0.1:${ports.course}`, identity: `http://127.0.0.1:${ports.identity}` });
  } finally {
    child.kill("SIGINT");
    expect(await child.exited).toBe(0);
    await reading;
  }
  return chunks.join("");
}

const courses = async (url: string, limit = 1) =>
  (await (await fetch(`${url}/courses?limit=${limit}`)).json()) as { items: { id: number; title: string }[] };

describe("bun run start on a fresh data directory", () => {
  test(
    "adds the demo catalog: GET /courses?limit=1 returns a course; a second start adds nothing",
    async () => {
      const dir = dataDir();
      let first: { id: number; title: string } | undefined;
      const output = await withStart(dir, [], async ({ course }) => {
        first = (await courses(course)).items[0];
        expect(first?.title).toBeString();
      });
      expect(output).toMatch(/demo catalog added to the empty databases in \d\.\d\d s: 300 courses/);
      // the demo accounts are printed as start prints them, and the seeded ones with them
      expect(output).toContain('demo accounts, password "coursework": admin@lab.test (admin)');
      expect(output).toContain("teacher1@lab.test … teacher3@lab.test (verified teachers)");
      expect(output).toContain(`student1@lab.test … student36@lab.test (students)`);
      const seconds = Number(output.match(/in (\d\.\d\d) s:/)?.[1]);
      expect(seconds).toBeLessThan(1);

      const again = await withStart(dir, [], async ({ course }) => {
        expect((await courses(course)).items[0]).toEqual(first as { id: number; title: string });
        expect((await courses(course, 100)).items.length).toBe(100);
      });
      expect(again).not.toContain("demo catalog");
    },
    START_TIMEOUT_MS * 3,
  );

  test(
    "--no-demo leaves it empty, and a later start leaves a database that holds data alone",
    async () => {
      const dir = dataDir();
      const empty = await withStart(dir, ["--no-demo"], async ({ course, identity }) => {
        expect((await courses(course)).items).toEqual([]);
        const registered = await fetch(`${identity}/register`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            email: "first@example.com",
            password: "a-long-password",
            full_name: "First",
            role: "teacher",
          }),
        });
        expect(registered.status).toBe(201);
      });
      expect(empty).not.toContain("demo catalog");

      const held = await withStart(dir, [], async ({ course }) => {
        expect((await courses(course)).items).toEqual([]);
      });
      expect(held).not.toContain("demo catalog");
    },
    START_TIMEOUT_MS * 3,
  );
});

describe("addDemoCatalog", () => {
  const databases = async () => {
    const urls = {} as Record<ServiceName, string>;
    for (const name of SERVICE_NAMES) urls[name] = await freshDatabase(`demo_${name}`);
    return urls;
  };
  const count = async (url: string, table: string) => {
    const sql = new SQL({ url, max: 1 });
    try {
      const [row] = await sql.unsafe(`SELECT count(*)::int AS n FROM ${table}`);
      return row.n as number;
    } finally {
      await sql.close();
    }
  };

  test("with NODE_ENV=production it adds nothing: no account with the public password", async () => {
    const urls = await databases();
    const said: string[] = [];
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = "production";
    try {
      expect(await addDemoCatalog(urls, (line) => said.push(line))).toBeUndefined();
    } finally {
      process.env.NODE_ENV = before;
    }
    expect(said).toEqual([]);
    expect(await count(urls.identity, "information_schema.tables WHERE table_name = 'users'")).toBe(0);
  });

  test("seeds the demo sizes once; a second call finds data and touches nothing", async () => {
    const urls = await databases();
    expect((await addDemoCatalog(urls, () => {}))?.dataset.sizes).toEqual(START_DEMO_SIZES);
    expect(await count(urls.course, "courses")).toBe(START_DEMO_SIZES.courses);
    expect(await count(urls.enrollment, "enrollments")).toBe(START_DEMO_SIZES.enrollments);
    expect(await addDemoCatalog(urls, () => {})).toBeUndefined();
    expect(await count(urls.course, "courses")).toBe(START_DEMO_SIZES.courses);
  });
});
