import { Elysia } from "elysia";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { errorResponses, forbidden, internalError, unauthorized } from "./errors";

export const ROLES = ["student", "teacher", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as the token's claims say: no service asks identity on the request path. */
export type AuthUser = { id: number; role: Role; is_verified: boolean; name: string; token: string };

/** The contract's claims (sub, role, is_verified, exp) plus the display name, so pages need no call to identity. */
export type TokenClaims = { sub: number; role: Role; is_verified: boolean; name: string };

const key = (secret: string) => new TextEncoder().encode(secret);

export async function signToken(claims: TokenClaims, secret: string, ttlSeconds: number): Promise<string> {
  return new SignJWT({ role: claims.role, is_verified: claims.is_verified, name: claims.name })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(String(claims.sub))
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(key(secret));
}

/** Verifies an HS256 token and its claim shapes; null for anything forged, expired or malformed. */
export async function verifyToken(token: string, secret: string): Promise<AuthUser | null> {
  try {
    const { payload } = await jwtVerify(token, key(secret), { algorithms: ["HS256"], requiredClaims: ["sub", "exp"] });
    const id = Number(payload.sub);
    const role = payload.role as Role;
    if (!Number.isSafeInteger(id) || id < 1 || !ROLES.includes(role) || typeof payload.is_verified !== "boolean") {
      return null;
    }
    const name = typeof payload.name === "string" ? payload.name : "";
    return { id, role, is_verified: payload.is_verified, name, token };
  } catch (error) {
    if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return null;
    throw error;
  }
}

export function bearerToken(header: string | null | undefined): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

/** What a route demands of its caller: any valid token, or also a role, or a verified teacher. */
export type AuthRule = true | { roles?: readonly Role[]; verifiedTeacher?: boolean };

export function authorize(user: AuthUser, rule: AuthRule): void {
  if (rule === true) return;
  if (rule.roles && !rule.roles.includes(user.role)) {
    throw forbidden(`This action is for ${rule.roles.join(" or ")} accounts`);
  }
  if (rule.verifiedTeacher && !(user.role === "teacher" && user.is_verified)) {
    throw forbidden(
      user.role === "teacher" ? "Your teacher account is not verified yet" : "Only verified teachers can do this",
    );
  }
}

/** The OpenAPI security scheme of a route with the `auth` option (declared in ./api-docs.ts). */
export const BEARER_SCHEME = "bearerAuth";

/** What a rule can answer besides the route's own statuses: 401 always, 403 when it asks more than a token. */
const authErrors = (rule: AuthRule) =>
  // one type for both shapes (the macro takes one), naming each status so typed clients still find the 2xx
  errorResponses(rule === true ? { 401: true } : { 401: true, 403: forbiddenMeaning(rule) }) as ReturnType<
    typeof errorResponses<{ 401: true; 403: string }>
  >;

const forbiddenMeaning = (rule: Exclude<AuthRule, true>) =>
  [
    rule.roles && `The token's role is not ${rule.roles.join(" or ")}`,
    rule.verifiedTeacher && "The token is not a verified teacher's",
  ]
    .filter(Boolean)
    .join("; ");

/**
 * The `auth` route option. The token is checked in `transform`, which runs before body validation,
 * so an anonymous or forbidden caller learns nothing about the body schema; `resolve` hands the user on.
 * It also documents the route: the bearer scheme and its 401/403 answers (see ./api-docs.ts).
 */
export const authGuard = (secret: string) => {
  const checked = new WeakMap<Request, AuthUser>();
  return new Elysia({ name: "lab.auth", seed: secret }).macro({
    auth: (rule: AuthRule) => ({
      detail: { security: [{ [BEARER_SCHEME]: [] }] },
      response: authErrors(rule),
      async transform({ request }) {
        const token = bearerToken(request.headers.get("authorization"));
        if (!token) throw unauthorized();
        const user = await verifyToken(token, secret);
        if (!user) throw unauthorized("Invalid or expired token");
        authorize(user, rule);
        checked.set(request, user);
      },
      resolve({ request }) {
        const user = checked.get(request);
        if (!user) throw internalError("auth transform did not run");
        return { user };
      },
    }),
  });
};
