import { afterAll, beforeAll, describe, expect, setDefaultTimeout, spyOn, test } from "bun:test";
import { join } from "node:path";
import {
  AddressSigner,
  CLIENT_ADDRESS_HEADER,
  DEVELOPMENT_JWT_SECRET,
  serviceUnavailable,
  unauthorized,
} from "@lab/shared";
import { identityApp } from "../../services/identity/src/app";
import { clientKey, LoginThrottle } from "../../services/identity/src/users/throttle";
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
    // every account() registers from the same (in-process) client
    REGISTRATIONS_PER_CLIENT: "1000",
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

/** In-process requests have no socket: each test names its client as the web app does, signed. */
const signer = new AddressSigner(DEVELOPMENT_JWT_SECRET);
const from = (client: string) => ({ [CLIENT_ADDRESS_HEADER]: signer.sign(client) });

let clients = 0;
const newClient = () => `198.51.100.${++clients}`;
const login = (email: string, password: string, client: string) =>
  api.request("POST", "/login", { body: { email, password }, headers: from(client) });

describe("failed logins for one account", () => {
  test("the guessing client gets 429 and Retry-After, even for the right password, until the window ends", async () => {
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

    await Bun.sleep(retryAfter * 1000 + 100);
    const afterWindow = await login(email, PASSWORD, attacker);
    expect(afterWindow.status).toBe(200);
    expect(afterWindow.body.access_token).toBeString();
  });

  test("whoever knows an email cannot lock its owner out: a client that has not been failing still gets in", async () => {
    const email = await account();
    const attacker = newClient();
    // the attacker keeps the account at its limit, window after window
    for (let guess = 1; guess <= 3; guess++) expect((await login(email, `guess ${guess}`, attacker)).status).toBe(401);
    expect((await login(email, "one more", attacker)).status).toBe(429);
    // the owner, on an address that has not been failing, logs in
    expect((await login(email, PASSWORD, newClient())).status).toBe(200);
  });

  test("a clean client gets one guess at a locked account; many addresses together lock it for everyone", async () => {
    const email = await account();
    for (let guess = 1; guess <= 3; guess++)
      expect((await login(email, `guess ${guess}`, newClient())).status).toBe(401);
    const newcomer = newClient();
    expect((await login(email, "a newcomer's guess", newcomer)).status).toBe(401);
    // one wrong password and the newcomer is failing too
    expect((await login(email, PASSWORD, newcomer)).status).toBe(429);
    // 4 × the account's limit (12 failures) from distinct addresses: nobody gets in until the window ends
    for (let guess = 5; guess <= 12; guess++) {
      expect((await login(email, `distributed ${guess}`, newClient())).status).toBe(401);
    }
    expect((await login(email, PASSWORD, newClient())).status).toBe(429);
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

describe("registration", () => {
  const PER_CLIENT = 3;
  let registry: Harness;
  beforeAll(async () => {
    registry = await serviceHarness("identity", migrations, identityApp, {
      REGISTRATIONS_PER_CLIENT: String(PER_CLIENT),
      LOGIN_WINDOW_SECONDS: "300",
    });
  });
  afterAll(() => registry.close());
  const register = (email: string, client: string) =>
    registry.request("POST", "/register", {
      body: { email, password: PASSWORD, full_name: "Newcomer", role: "student" },
      headers: from(client),
    });

  test("an email already registered is a 409 without hashing the password", async () => {
    const client = newClient();
    expect((await register("taken@register.test", client)).status).toBe(201);
    const hash = spyOn(Bun.password, "hash");
    try {
      for (const email of ["taken@register.test", " Taken@Register.test "]) {
        const again = await register(email, client);
        expect(again.status).toBe(409);
        expect(again.body.message).toBe("This email is already registered");
      }
      expect(hash).not.toHaveBeenCalled();
    } finally {
      hash.mockRestore();
    }
  });

  test(`${PER_CLIENT} registrations per client and window, 409s too; then 429 with Retry-After, for that client only`, async () => {
    const client = newClient();
    const statuses: number[] = [];
    for (let i = 0; i < PER_CLIENT; i++) statuses.push((await register(`many${i}@register.test`, client)).status);
    expect(statuses).toEqual([201, 201, 201]);
    const refused = await register("many-more@register.test", client);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(300);
    expect((await register("many0@register.test", client)).status).toBe(429);
    // parallel ones cannot slip past either: each is counted before it runs
    const prober = newClient();
    const parallel = await Promise.all(
      Array.from({ length: 8 }, (_, i) => register(`many${i % 2}@register.test`, prober).then((r) => r.status)),
    );
    expect(parallel.filter((status) => status === 409)).toHaveLength(PER_CLIENT);
    expect(parallel.filter((status) => status === 429)).toHaveLength(8 - PER_CLIENT);
    expect((await register("many-more@register.test", newClient())).status).toBe(201);
  });
});

describe("client keys", () => {
  test("an IPv6 address counts as its /64; an IPv4-mapped one as its IPv4 address", () => {
    expect(clientKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:0db8:0001:0002::ffff")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8::1:2:3:4:5")).toBe("2001:db8:0:1::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(clientKey("203.0.113.7")).toBe("203.0.113.7");
  });

  test("rotating addresses inside one IPv6 /64 is one client", async () => {
    const targets = [await account(), await account(), await account()];
    const statuses: number[] = [];
    for (let guess = 0; guess < 7; guess++) {
      const address = `2001:db8:77:1::${(guess + 1).toString(16)}`;
      statuses.push((await login(targets[guess % 3] as string, "Summer2026!", address)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
    expect((await login(targets[0] as string, PASSWORD, "2001:db8:77:2::1")).status).toBe(200);
  });
});

describe("the client address over real HTTP", () => {
  test("a forged X-Forwarded-For is counted against the socket's address", async () => {
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

  test("X-Forwarded-For is believed from TRUSTED_PROXIES only; a signature made without the secret is not", async () => {
    const proxy = "127.0.0.9";
    const direct = await serviceHarness("identity", migrations, identityApp, {
      LOGIN_FAILURES_PER_ACCOUNT: "100",
      LOGIN_FAILURES_PER_CLIENT: "3",
      TRUSTED_PROXIES: `${proxy}, 192.0.2.0/24`,
    });
    direct.app.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const url = `http://127.0.0.1:${direct.app.server?.port}/login`;
      let emails = 0;
      const guess = (socket: string, headers: Record<string, string> = {}) =>
        httpFrom(socket, "POST", url, {
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ email: `nobody${++emails}@proxies.test`, password: "any password" }),
        }).then((response) => response.status);
      const statuses = async (times: number, send: (i: number) => Promise<number>) => {
        const seen: number[] = [];
        for (let i = 0; i < times; i++) seen.push(await send(i));
        return seen;
      };
      // a caller that is no proxy of ours rotates X-Forwarded-For: still one client, its socket
      expect(await statuses(5, (i) => guess("127.0.0.2", { "x-forwarded-for": `203.0.113.${i}` }))).toEqual([
        401, 401, 401, 429, 429,
      ]);
      // nor can it pass for another client with a signature it could not make
      const forged = new AddressSigner("not the secret").sign("203.0.113.50");
      expect(await guess("127.0.0.2", { [CLIENT_ADDRESS_HEADER]: forged })).toBe(429);
      // the proxy names each client; entries left of its own (what the browser claimed) are never read
      const viaProxy = (client: string, claimed = "198.51.100.99") =>
        guess(proxy, { "x-forwarded-for": `${claimed}, ${client}` });
      expect(await statuses(4, () => viaProxy("203.0.113.60"))).toEqual([401, 401, 401, 429]);
      expect(await viaProxy("203.0.113.61", "203.0.113.60")).toBe(401);
      // a chain of trusted proxies: the first untrusted entry from the right is the client
      expect(await statuses(4, () => viaProxy("192.0.2.10", "203.0.113.60"))).toEqual([429, 429, 429, 429]);
    } finally {
      await direct.app.stop(true);
      await direct.close();
    }
  });
});
