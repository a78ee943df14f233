import { type AuthUser, verifyToken } from "@lab/shared";

/** The login cookie: the identity service's JWT, HttpOnly so no script (and no XSS) can read it. */
export const SESSION_COOKIE = "lab_session";

export const sessionToken = (request: Request) =>
  new Bun.CookieMap(request.headers.get("cookie") ?? "").get(SESSION_COOKIE);

/** The signed-in user, from the cookie's token; null when there is none or it is forged or expired. */
export async function sessionUser(request: Request, secret: string): Promise<AuthUser | null> {
  const token = sessionToken(request);
  return token ? verifyToken(token, secret) : null;
}

const isHttps = (request: Request) =>
  new URL(request.url).protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";

/** Set-Cookie for a fresh login: HttpOnly, SameSite=Lax, Secure over HTTPS, gone when the token expires. */
export const sessionCookie = (request: Request, token: string, maxAgeSeconds: number) =>
  new Bun.Cookie(SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: isHttps(request),
    maxAge: maxAgeSeconds,
  }).serialize();

export const clearedSessionCookie = () =>
  new Bun.Cookie(SESSION_COOKIE, "", { path: "/", httpOnly: true, sameSite: "lax", maxAge: 0 }).serialize();
