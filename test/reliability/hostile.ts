import { DEVELOPMENT_JWT_SECRET } from "@lab/shared";
import fc from "fast-check";

/**
 * Hostile inputs for the fuzz tests: strings, ids, JSON values, bodies and tokens that a careless
 * service would answer with a 500, a hang or a leak.
 */

/** Unicode edge cases, injections and look-alikes of other types. */
export const NASTY_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\uD800",
  "\uDFFF",
  "x\uD83D",
  "\u202Eevil\u202C",
  "\u05E9\u05DC\u05D5\u05DD abc",
  "👩‍👩‍👧‍👦",
  "\u200B",
  "\uFEFF",
  "e\u0301",
  "Ω≈ç√∫",
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  "1; SELECT pg_sleep(5)--",
  "$1",
  "%",
  "_",
  "%_%",
  "\\",
  "\\'",
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "{{7*7}}",
  "$" + "{7*7}",
  "../../../etc/passwd",
  "\r\nX-Injected: 1",
  "null",
  "undefined",
  "NaN",
  "-0",
  "1e309",
  "true",
  "x".repeat(5_000),
  "é".repeat(60_000),
];

/** Path segments for an `:id`, already URL-encoded. */
export const ODD_IDS = [
  "-1",
  "0",
  "1e3",
  "99999999999999999999",
  "abc",
  "0x10",
  "1.5",
  "%201",
  "+1",
  "NaN",
  "Infinity",
  "-0",
  "00001",
  "%00",
  "%E0%A4%A",
  "%F0%9F%98%80",
  "1%20OR%201%3D1",
  "1'",
  "2147483647",
  "2147483648",
  "9007199254740993",
  "x".repeat(2000),
];

export const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  {
    weight: 2,
    arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, 5e-324),
  },
  { weight: 1, arbitrary: fc.constantFrom({ toString: 1 }, { valueOf: {}, toString: [] }, { length: -1 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) },
);

/** A header value fetch can send (visible ASCII), hostile in content. */
export const headerValue = fc.oneof(
  fc.constantFrom("' OR 1=1 --", "<script>", "%00", "../..", "x".repeat(4000), "-1", "\\", ""),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 60 }),
);

/** JSON that does not parse, or parses into something no route expects. */
export const MALFORMED_JSON = [
  "{",
  '{"a":',
  "[",
  "nul",
  '{"a":1,}',
  "{'a':1}",
  "\u0000",
  "\uFEFF{}",
  '{"__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"role":"admin"}}}',
  "[".repeat(20_000),
  `{"a":${"[".repeat(5_000)}${"]".repeat(5_000)}}`,
  '"just a string"',
  "12345678901234567890123456789",
  '{"a":1e999999}',
  '{"a":"\\ud800"}',
];

// ---- tokens ----

const base64url = (value: string | Uint8Array) => Buffer.from(value).toString("base64url");

/** A JWT with any header, claims and HMAC key, so a test can forge what no library would sign. */
export function forgeToken(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: string | null,
  hash: "sha256" | "sha512" = "sha256",
): string {
  const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  if (key === null) return `${unsigned}.`;
  const signature = new Bun.CryptoHasher(hash, key).update(unsigned).digest();
  return `${unsigned}.${base64url(signature)}`;
}

const now = () => Math.floor(Date.now() / 1000);
const admin = (extra: Record<string, unknown> = {}) => ({
  sub: "1",
  role: "admin",
  is_verified: true,
  name: "Mallory",
  exp: now() + 3600,
  ...extra,
});
const HS256 = { alg: "HS256", typ: "JWT" };

/** Tokens that must never authenticate anyone: each would make its holder an admin if accepted. */
export function forgedTokens(secret = DEVELOPMENT_JWT_SECRET): Record<string, string> {
  const { sub: _sub, ...withoutSub } = admin();
  const { exp: _exp, ...withoutExp } = admin();
  return {
    "alg none": forgeToken({ alg: "none", typ: "JWT" }, admin(), null),
    "alg none, signed anyway": forgeToken({ alg: "none", typ: "JWT" }, admin(), secret),
    "wrong secret": forgeToken(HS256, admin(), "not-the-platform-secret"),
    "HS512 with the right secret": forgeToken({ alg: "HS512", typ: "JWT" }, admin(), secret, "sha512"),
    expired: forgeToken(HS256, admin({ exp: now() - 60 }), secret),
    "missing sub": forgeToken(HS256, withoutSub, secret),
    "missing exp": forgeToken(HS256, withoutExp, secret),
    "unknown role": forgeToken(HS256, admin({ role: "superuser" }), secret),
    "sub not a number": forgeToken(HS256, admin({ sub: "abc" }), secret),
    "sub negative": forgeToken(HS256, admin({ sub: "-1" }), secret),
    "sub too large": forgeToken(HS256, admin({ sub: "99999999999999999999" }), secret),
    "is_verified not a boolean": forgeToken(HS256, admin({ is_verified: "true" }), secret),
    "signature stripped": `${forgeToken(HS256, admin(), secret).split(".").slice(0, 2).join(".")}.`,
    "payload swapped": (() => {
      const [header, , signature] = forgeToken(HS256, admin({ role: "student" }), secret).split(".");
      return `${header}.${base64url(JSON.stringify(admin()))}.${signature}`;
    })(),
    garbage: "garbage",
    "three dots": "a.b.c",
    "not base64": "!!!.@@@.###",
    huge: "x".repeat(8_000),
  };
}

/** Authorization header values that are not a Bearer token at all. */
export const ODD_AUTHORIZATION = [
  "Bearer",
  "Bearer ",
  "Basic dXNlcjpwYXNz",
  "bearer  a b",
  "Token abc",
  "Bearer \u00ff\u00fe",
];
