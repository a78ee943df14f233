import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { serviceUnavailable, unauthorized } from "@lab/shared";
import { identityApp } from "../../services/identity/src/app";
import { LoginThrottle } from "../../services/identity/src/users/throttle";
import { type Harness, httpFrom, serviceHarness } from "../support";

// real PostgreSQL, real processes and password hashing on a shared 2-core machine
setDefaultTimeout(30_000);

/**
 * Password guessing against identity's POST /login: failed logins per email and per client address
 * are limited within a window (429 + Retry-After), and the window ends, so the real user gets back in.
 */
const migrations = join(import.meta.dir, "../../services/identity/migrations");
const PASSWORD = "the right password";
const WINDOW_SECONDS = 2;

let api: Harness;
beforeAll(async () => {
  api = await serviceHarness("identity", migrations, identityApp, {
    LOGIN_FAILURES_PER_ACCOUNT: "3",
    LOGIN_FAILURES_PER_CLIENT: "6",
    LOGIN_WINDOW_SECONDS: String(WINDOW_SECONDS),
    // in-process requests have no socket: each test names its client in X-Forwarded-For
    TRUST_PROXY: "1",
  });
});
afterAll(() => api.close());

let accounts = 0;
async function account() {
  const email = `user${++accounts}@abuse.test`;
  const registered = await api.request("POST", "/register", {
    body: { email, password: PASSWORD, full_name: "Target", role: "student" },
  });
  expect(registered.status).toBe(201);
  return email;
}

let clients = 0;
const newClient = () => `198.51.100.${++clients}`;
const login = (email: string, password: string, client: string) =>
  api.request("POST", "/login", { body: { email, password }, headers: { "x-forwarded-for": client } });

describe("failed logins for one account", () => {
  test("are slowed down with 429 and Retry-After, even for the right password, until the window ends", async () => {
    const email = await account();
    const attacker = newClient();
    for (let guess = 1; guess <= 3; guess++) {
      expect((await login(email, `wrong guess ${guess}`, attacker)).status).toBe(401);
    }
    const blocked = await login(email, PASSWORD, attacker);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toBe("too_many_requests");
    const retryAfter = Number(blocked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    // the account is what is limited: the real user on another address waits too
    expect((await login(email, PASSWORD, newClient())).status).toBe(429);

    await Bun.sleep(retryAfter * 1000 + 100);
    const afterWindow = await login(email, PASSWORD, newClient());
    expect(afterWindow.status).toBe(200);
    expect(afterWindow.body.access_token).toBeString();
  });

  test("a successful login clears the account's count", async () => {
    const email = await account();
    for (let round = 0; round < 3; round++) {
      // a new address each round: the client's own count keeps its failures, the account's is cleared
      const client = newClient();
      expect((await login(email, "typo in password", client)).status).toBe(401);
      expect((await login(email, "typo in password", client)).status).toBe(401);
      expect((await login(email, PASSWORD, client)).status).toBe(200);
    }
  });

  test("parallel guesses cannot slip past the limit while the password hash runs", async () => {
    const email = await account();
    const client = newClient();
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => login(email, `parallel guess ${i}`, client).then((r) => r.status)),
    );
    expect(statuses.filter((status) => status === 401)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(9);
  });

  test("parallel correct logins of one account all succeed (they wait their turn, they are not refused)", async () => {
    const email = await account();
    const statuses = await Promise.all(
      Array.from({ length: 6 }, () => login(email, PASSWORD, newClient()).then((r) => r.status)),
    );
    expect(statuses).toEqual(Array.from({ length: 6 }, () => 200));
  });
});

describe("failed logins from one client", () => {
  test("spraying one password over many accounts is slowed down for that client only", async () => {
    const targets = [await account(), await account(), await account(), await account()];
    const sprayer = newClient();
    // 6 failures spread so that no account reaches its own limit of 3
    for (const email of [...targets, ...targets].slice(0, 6)) {
      expect((await login(email, "Summer2026!", sprayer)).status).toBe(401);
    }
    const blocked = await login(targets[3] as string, PASSWORD, sprayer);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await login(targets[3] as string, PASSWORD, newClient())).status).toBe(200);
  });

  test("many successful logins from one address (a load test, an office) are not limited, even at once", async () => {
    const email = await account();
    const office = newClient();
    for (let i = 0; i < 10; i++) expect((await login(email, PASSWORD, office)).status).toBe(200);
    const colleagues = [await account(), await account(), await account(), await account()];
    const statuses = await Promise.all(
      [...colleagues, ...colleagues].map((colleague) => login(colleague, PASSWORD, office).then((r) => r.status)),
    );
    expect(statuses).toEqual(Array.from({ length: 8 }, () => 200));
  });
});

describe("the login throttle's bookkeeping", () => {
  const options = { perAccount: 2, perClient: 100, windowSeconds: 60 };

  test("a database outage during login counts against nobody", async () => {
    const throttle = new LoginThrottle(options);
    for (let i = 0; i < 5; i++) {
      await expect(
        throttle.attempt("a@b.test", "client", () => Promise.reject(serviceUnavailable("down"))),
      ).rejects.toMatchObject({ status: 503 });
    }
    expect(await throttle.attempt("a@b.test", "client", async () => "token")).toBe("token");
  });

  test("the block lasts until the window that began with the first failure ends, not longer", async () => {
    let now = 1_000_000;
    const throttle = new LoginThrottle(options, () => now);
    const refuse = () => Promise.reject(unauthorized("Invalid email or password"));
    await expect(throttle.attempt("a@b.test", "c", refuse)).rejects.toMatchObject({ status: 401 });
    now += 30_000;
    await expect(throttle.attempt("a@b.test", "c", refuse)).rejects.toMatchObject({ status: 401 });
    await expect(throttle.attempt("a@b.test", "c", async () => "token")).rejects.toMatchObject({
      status: 429,
      headers: { "retry-after": "30" },
    });
    now += 29_999;
    await expect(throttle.attempt("a@b.test", "c", async () => "token")).rejects.toMatchObject({ status: 429 });
    now += 1;
    expect(await throttle.attempt("a@b.test", "c", async () => "token")).toBe("token");
  });
});

describe("passwords", () => {
  test("shorter than 8 characters are refused at registration", async () => {
    const response = await api.request("POST", "/register", {
      body: { email: "short@abuse.test", password: "1234567", full_name: "Short", role: "student" },
    });
    expect(response.status).toBe(422);
    expect(response.body.message).toContain("password");
  });
});

describe("the client address over real HTTP", () => {
  test("without TRUST_PROXY a forged X-Forwarded-For is counted against the socket's address", async () => {
    const direct = await serviceHarness("identity", migrations, identityApp, {
      LOGIN_FAILURES_PER_ACCOUNT: "100",
      LOGIN_FAILURES_PER_CLIENT: "3",
    });
    direct.app.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const url = `http://127.0.0.1:${direct.app.server?.port}/login`;
      const guess = (from: string, i: number, forwardedFor?: string) =>
        httpFrom(from, "POST", url, {
          headers: { "content-type": "application/json", ...(forwardedFor && { "x-forwarded-for": forwardedFor }) },
          body: JSON.stringify({ email: `nobody${i}@abuse.test`, password: "any password" }),
        }).then((response) => response.status);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push(await guess("127.0.0.2", i, `203.0.113.${i}`));
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      // another socket address is another client, whatever the blocked one claimed
      expect(await guess("127.0.0.3", 5)).toBe(401);
    } finally {
      await direct.app.stop(true);
      await direct.close();
    }
  });
});
