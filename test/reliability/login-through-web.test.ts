import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { AddressSigner, CLIENT_ADDRESS_HEADER, DEVELOPMENT_JWT_SECRET } from "@lab/shared";
import { httpFrom } from "../support";
import { type Platform, type PlatformUser, startPlatform, startWeb } from "./platform";

// real PostgreSQL, the five services and the web app over HTTP, ~70 password hashes on a shared 2-core machine
setDefaultTimeout(60_000);

/**
 * Login throttling behind the web app. Identity counts failed logins per client address; every
 * browser's login reaches it from the web app, so the web app must say whose login it is: the
 * browser's address, signed with the secret the two share, which identity believes from nobody
 * else. Identity here trusts no proxy at all (as `bun run start` and compose run it). Otherwise one
 * attacker failing LOGIN_FAILURES_PER_CLIENT logins through the web UI would turn away every
 * user's web login. Browsers are told apart by their real socket address: each connects from its
 * own loopback address.
 */
const PER_CLIENT = 30;
const BROWSER_A = "127.0.0.2";
const BROWSER_B = "127.0.0.3";

const signer = new AddressSigner(DEVELOPMENT_JWT_SECRET);
let platform: Platform;
let direct: Awaited<ReturnType<typeof startWeb>>;
let behindIngress: Awaited<ReturnType<typeof startWeb>>;
/** A user who logs in through the web app while an attacker is turned away. */
let victim: PlatformUser;
/** The client address the web app vouched for in every request identity received, as "METHOD /path address". */
const identityHeard: string[] = [];

beforeAll(async () => {
  platform = await startPlatform(
    { LOGIN_FAILURES_PER_CLIENT: String(PER_CLIENT), LOGIN_WINDOW_SECONDS: "300" },
    (service, request) => {
      if (service !== "identity") return;
      const path = new URL(request.url).pathname;
      identityHeard.push(`${request.method} ${path} ${signer.verified(request) ?? "-"}`);
    },
  );
  // browsers connect to it themselves: it trusts no X-Forwarded-For and takes the socket's peer
  direct = await startWeb(platform);
  // an ingress in front of it (127.0.0.4) appends each browser's address, and the web app trusts that
  behindIngress = await startWeb(platform, { TRUSTED_PROXIES: "127.0.0.4" });
  victim = await platform.user("student");
}, 60_000);

afterAll(async () => {
  await Promise.all([direct?.stop(), behindIngress?.stop()]);
  await platform?.close();
});

type Browser = { from: string; forwardedFor?: string };

/** The login form as a browser posts it (same-origin), to the web app at `webUrl`. */
function logIn(webUrl: string, browser: Browser, email: string, password: string) {
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    origin: webUrl,
  };
  if (browser.forwardedFor) headers["x-forwarded-for"] = browser.forwardedFor;
  const body = new URLSearchParams({ email, password, next: "/" }).toString();
  return httpFrom(browser.from, "POST", `${webUrl}/login`, { headers, body }).then((answer) => answer.status);
}

/** PER_CLIENT wrong passwords, each at another email so that no account's own limit is reached. */
async function failLogins(webUrl: string, browser: Browser, tag: string) {
  const statuses: number[] = [];
  for (let i = 0; i < PER_CLIENT; i++) {
    statuses.push(await logIn(webUrl, browser, `nobody${i}-${tag}@web-throttle.test`, "a wrong password"));
  }
  return statuses;
}

describe("failed logins through the web app are counted per browser", () => {
  test(`${PER_CLIENT} failures from browser A get A a 429; browser B still logs in`, async () => {
    const attacker: Browser = { from: BROWSER_A };
    expect(await failLogins(direct.url, attacker, "a")).toEqual(Array.from({ length: PER_CLIENT }, () => 401));
    expect(await logIn(direct.url, attacker, victim.email, victim.password)).toBe(429);
    // the web app trusts no X-Forwarded-For from a browser: a forged one is still browser A
    expect(await logIn(direct.url, { from: BROWSER_A, forwardedFor: "203.0.113.9" }, victim.email, "wrong")).toBe(429);
    expect(await logIn(direct.url, { from: BROWSER_B }, victim.email, victim.password)).toBe(303);
  });

  test("behind an ingress (in the web app's TRUSTED_PROXIES) the browser is the address it appended", async () => {
    // every request comes from the ingress's one address; what the browser claimed comes first
    const attacker: Browser = { from: "127.0.0.4", forwardedFor: "192.0.2.77, 198.51.100.10" };
    expect(await failLogins(behindIngress.url, attacker, "ingress")).toEqual(
      Array.from({ length: PER_CLIENT }, () => 401),
    );
    expect(await logIn(behindIngress.url, attacker, victim.email, victim.password)).toBe(429);
    const other: Browser = { from: "127.0.0.4", forwardedFor: "198.51.100.11" };
    expect(await logIn(behindIngress.url, other, victim.email, victim.password)).toBe(303);
    // a browser reaching that web app around the ingress is counted as itself, whatever it claims
    const around: Browser = { from: "127.0.0.6", forwardedFor: "198.51.100.10" };
    expect(await logIn(behindIngress.url, around, victim.email, victim.password)).toBe(303);
  });

  test("identity believes no caller's own claim: one sending X-Forwarded-For or a forged signature is itself", async () => {
    // each at another email, so that only the client's count can block
    const login = (i: number, headers: Record<string, string>) =>
      httpFrom("127.0.0.7", "POST", `${platform.urls.identity}/login`, {
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ email: `nobody${i}-direct@web-throttle.test`, password: "a wrong password" }),
      }).then((answer) => answer.status);
    const statuses: number[] = [];
    for (let i = 0; i < PER_CLIENT + 1; i++) {
      const forged = new AddressSigner("a guessed secret").sign(`203.0.113.${i}`);
      statuses.push(
        await login(i, i % 2 ? { "x-forwarded-for": `203.0.113.${i}` } : { [CLIENT_ADDRESS_HEADER]: forged }),
      );
    }
    expect(statuses.slice(0, PER_CLIENT)).toEqual(Array.from({ length: PER_CLIENT }, () => 401));
    expect(statuses.at(-1)).toBe(429);
  });

  test("the login form, the register form and the /api proxy each give identity the browser's address", async () => {
    const browser = "127.0.0.5";
    const email = `newcomer-${crypto.randomUUID().slice(0, 8)}@web-throttle.test`;
    const form = (fields: Record<string, string>) => ({
      headers: { "content-type": "application/x-www-form-urlencoded", origin: direct.url },
      body: new URLSearchParams(fields).toString(),
    });
    identityHeard.length = 0;
    const registered = await httpFrom(
      browser,
      "POST",
      `${direct.url}/register`,
      form({ email, password: "a good password", full_name: "Newcomer", role: "student" }),
    );
    expect(registered.status).toBe(303);
    const loggedIn = await httpFrom(
      browser,
      "POST",
      `${direct.url}/login`,
      form({ email, password: "a good password", next: "/" }),
    );
    expect(loggedIn.status).toBe(303);
    const viaApi = await httpFrom(browser, "POST", `${direct.url}/api/identity/login`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "a good password" }),
    });
    expect(viaApi.status).toBe(200);
    expect(identityHeard).toEqual([
      `POST /register ${browser}`,
      `POST /login ${browser}`,
      `POST /login ${browser}`,
      `POST /login ${browser}`,
    ]);
  });
});
