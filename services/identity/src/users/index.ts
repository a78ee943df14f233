import {
  AddressSigner,
  authGuard,
  clientAddress,
  errorResponses,
  type PeerSource,
  parseTrustedProxies,
  type ServiceContext,
} from "@lab/shared";
import { RedisLink, sharedRedisUrl } from "@lab/shared/redis";
import { Elysia } from "elysia";
import { LoginBody, RegisterBody, Token, User, UserIdParams } from "./model";
import { normalizeEmail, UserService } from "./service";
import { clientKey, LoginThrottle, RegistrationThrottle } from "./throttle";

/** Emails are compared trimmed and lower-cased; normalising before validation accepts " Ada@Example.com". */
const normalizeBodyEmail = ({ body }: { body: unknown }) => {
  const fields = body as { email?: unknown } | null;
  if (fields && typeof fields.email === "string") fields.email = normalizeEmail(fields.email);
};

export const usersController = ({ db, config }: ServiceContext) => {
  const users = new UserService(db, { secret: config.JWT_SECRET, ttlSeconds: config.JWT_TTL_SECONDS });
  const redisUrl = sharedRedisUrl(config);
  // Its own connection: the cache's may be off (CACHE=off) while replicas still share their counts.
  const redis = redisUrl
    ? new RedisLink({
        url: redisUrl,
        whileDown: "counting failed logins in this process",
        whenBack: "counting failed logins in Redis",
      })
    : undefined;
  const throttle = new LoginThrottle({
    perAccount: config.LOGIN_FAILURES_PER_ACCOUNT,
    perClient: config.LOGIN_FAILURES_PER_CLIENT,
    windowSeconds: config.LOGIN_WINDOW_SECONDS,
    redis,
  });
  const registrations = new RegistrationThrottle({
    perClient: config.REGISTRATIONS_PER_CLIENT,
    windowSeconds: config.LOGIN_WINDOW_SECONDS,
    redis,
  });
  const signer = new AddressSigner(config.JWT_SECRET);
  const proxies = parseTrustedProxies(config.TRUSTED_PROXIES);
  /**
   * Whom an attempt is counted against: the browser the web app vouches for (signed with the
   * secret they share), else the caller, or the client a proxy in TRUSTED_PROXIES names.
   */
  const clientOf = (request: Request, server: PeerSource) =>
    clientKey(signer.verified(request) ?? clientAddress(request, server, proxies) ?? "in-process");
  return new Elysia({ name: "identity.users", detail: { tags: ["users"] } })
    .onStop(() => redis?.close())
    .use(authGuard(config.JWT_SECRET))
    .post(
      "/register",
      async ({ body, set, request, server }) => {
        const user = await registrations.attempt(clientOf(request, server), () => users.register(body));
        set.status = 201;
        return user;
      },
      {
        transform: normalizeBodyEmail,
        body: RegisterBody,
        response: {
          201: User,
          ...errorResponses({
            400: true,
            409: "This email is already registered",
            422: true,
            429: "Too many registrations from the client; Retry-After says when to try again",
          }),
        },
      },
    )
    .post(
      "/login",
      ({ body, request, server }) =>
        throttle.attempt(body.email, clientOf(request, server), () => users.login(body.email, body.password)),
      {
        transform: normalizeBodyEmail,
        body: LoginBody,
        response: {
          200: Token,
          ...errorResponses({
            400: true,
            401: "Wrong email or password",
            422: true,
            429: "Too many failed logins for the email or from the client; Retry-After says when to try again",
          }),
        },
      },
    )
    .get("/me", ({ user }) => users.byId(user.id), {
      auth: true,
      response: { 200: User, ...errorResponses({ 404: "The token's user no longer exists" }) },
    })
    .post("/users/:id/verify", ({ params }) => users.verify(params.id), {
      auth: { roles: ["admin"] },
      params: UserIdParams,
      response: { 200: User, ...errorResponses({ 404: "No user has this id", 422: true }) },
    });
};
