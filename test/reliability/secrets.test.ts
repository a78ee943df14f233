import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { DEVELOPMENT_JWT_SECRET } from "@lab/shared";
import { freePort } from "../../scripts/lib/postgres";
import { runCommand } from "../../scripts/lib/process";
import { ROOT } from "../../scripts/lib/stack";
import { freshDatabase } from "../support";
import { forgedTokens } from "./hostile";
import { type ServiceProcess, spawnService } from "./processes";

// real PostgreSQL, real processes and password hashing on a shared 2-core machine
setDefaultTimeout(30_000);

/**
 * Secrets stay secret: a running identity process never writes a password or a token to its output,
 * and no answer carries one (except the login that hands out the token); a production start-up
 * without a real JWT_SECRET stops with one clear line.
 */
const entry = (service: string) => join(ROOT, "services", service, "src/index.ts");

describe("no password or token in any answer or log line", () => {
  let identity: ServiceProcess;
  const answers: { what: string; text: string }[] = [];
  const passwords = ["Corr3ct-Horse-Battery-Staple", "Wr0ng-Guess-Password-91", "short7!", `L${"o".repeat(140)}ng`];
  const tokens: string[] = [];

  beforeAll(async () => {
    identity = await spawnService("identity", {
      DATABASE_URL: await freshDatabase("identity_secrets"),
      LOG_LEVEL: "debug",
      LOGIN_FAILURES_PER_ACCOUNT: "3",
    });
  });
  afterAll(async () => {
    await identity?.stop();
  });

  const send = async (what: string, method: string, path: string, body?: unknown, headers = {}) => {
    const response = await fetch(`${identity.url}${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    answers.push({ what, text });
    return { status: response.status, text };
  };

  test("register, login, wrong passwords, throttling, bad bodies, valid and forged tokens", async () => {
    const [good, wrong, short, long] = passwords as [string, string, string, string];
    const email = "keeper@secrets.test";
    const register = { email, password: good, full_name: "Keeper", role: "student" };
    expect((await send("register", "POST", "/register", register)).status).toBe(201);
    expect((await send("register again", "POST", "/register", register)).status).toBe(409);
    expect((await send("short password", "POST", "/register", { ...register, password: short })).status).toBe(422);
    expect((await send("long password", "POST", "/register", { ...register, password: long })).status).toBe(422);
    expect((await send("password as number", "POST", "/register", { ...register, password: 12345678 })).status).toBe(
      422,
    );
    expect((await send("bad email", "POST", "/register", { ...register, email: good })).status).toBe(422);
    expect((await send("malformed JSON", "POST", "/register", `{"password":"${good}",`)).status).toBe(400);
    expect((await send("unknown role", "POST", "/register", { ...register, role: good })).status).toBe(422);

    const login = await fetch(`${identity.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: good }),
    });
    const token = ((await login.json()) as { access_token: string }).access_token;
    tokens.push(token);
    expect((await send("me", "GET", "/me", undefined, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(
      (await send("verify as student", "POST", "/users/1/verify", undefined, { authorization: `Bearer ${token}` }))
        .status,
    ).toBe(403);
    for (const forged of Object.values(forgedTokens())) {
      tokens.push(forged);
      expect((await send("forged token", "GET", "/me", undefined, { authorization: `Bearer ${forged}` })).status).toBe(
        401,
      );
    }

    for (let i = 0; i < 3; i++) {
      expect((await send("wrong password", "POST", "/login", { email, password: wrong })).status).toBe(401);
    }
    expect((await send("throttled", "POST", "/login", { email, password: good })).status).toBe(429);
    expect(
      (await send("unknown email", "POST", "/login", { email: "nobody@secrets.test", password: good })).status,
    ).toBe(401);
    expect(
      (
        await send(
          "login as HTMX",
          "POST",
          "/login",
          { email: "x@secrets.test", password: wrong },
          { "hx-request": "true" },
        )
      ).status,
    ).toBe(401);
  }, 30_000);

  test("none of it shows up in the process's stdout or stderr, nor in any answer", async () => {
    await identity.stop();
    const output = identity.output();
    // the process did log (access lines for every request), so an empty capture cannot pass this test
    expect(output).toContain('"msg":"request"');
    expect(output).toContain('"route":"/login"');
    // each token whole, and its signature alone (the part that makes it usable)
    const signatures = tokens.map((token) => token.split(".")[2] ?? "").filter((part) => part.length >= 16);
    const secrets = [...passwords, ...tokens, ...signatures];
    for (const secret of secrets) {
      expect({ secret: secret.slice(0, 20), inLogs: output.includes(secret) }).toEqual({
        secret: secret.slice(0, 20),
        inLogs: false,
      });
      for (const { what, text } of answers) {
        expect({ what, secret: secret.slice(0, 20), inAnswer: text.includes(secret) }).toEqual({
          what,
          secret: secret.slice(0, 20),
          inAnswer: false,
        });
      }
    }
  });
});

describe("JWT_SECRET in production", () => {
  const options = (env: Record<string, string>) => ({
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(freePort()),
      DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
      JWT_SECRET: "",
      ...env,
    },
  });
  const start = (env: Record<string, string>) =>
    Bun.spawn(["bun", entry("course")], { ...options(env), stdout: "pipe", stderr: "pipe" });

  const cases: [string, Record<string, string>, string][] = [
    ["missing", {}, "course: config: JWT_SECRET must be set to at least 32 characters when NODE_ENV=production"],
    [
      "short",
      { JWT_SECRET: "too-short-secret" },
      "course: config: JWT_SECRET must be set to at least 32 characters when NODE_ENV=production",
    ],
    [
      "the development default",
      { JWT_SECRET: DEVELOPMENT_JWT_SECRET },
      "course: config: JWT_SECRET is the development default, which NODE_ENV=production refuses",
    ],
  ];
  for (const [name, env, message] of cases) {
    test(`${name}: the service exits 1 with one line saying so`, async () => {
      const { stdout, stderr, code } = await runCommand(["bun", entry("course")], options(env));
      expect(code).toBe(1);
      expect(stderr.trimEnd().split("\n")).toEqual([message]);
      expect(stdout).toBe("");
    });
  }

  test("a 32-character secret that is not the default passes the check (the service goes on to its database)", async () => {
    const child = start({ JWT_SECRET: "a-real-production-secret-of-32-chars!", DB_CONNECT_TIMEOUT_S: "1" });
    // past the secret check it tries the unreachable database and retries: still alive after a moment
    await Bun.sleep(1_500);
    expect(child.exitCode).toBeNull();
    child.kill("SIGKILL");
    await child.exited;
    expect(await new Response(child.stderr).text()).not.toContain("JWT_SECRET");
    expect(await new Response(child.stdout).text()).toContain("database not ready, retrying migrations");
  });
});
