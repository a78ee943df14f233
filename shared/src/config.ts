import { type Static, Type as T } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { parseTrustedProxies } from "./client-address";
import { LOG_FORMATS, LOG_LEVELS } from "./log";
import { SERVICES, type ServiceName } from "./services";

const oneOf = <const V extends string>(values: readonly V[], fallback: NoInfer<V>) =>
  T.Union(
    values.map((v) => T.Literal(v)),
    { default: fallback },
  );
const url = (fallback: string) => T.String({ minLength: 1, default: fallback });

/** Every environment variable the platform reads, with the contract's defaults. */
export const EnvSchema = T.Object({
  NODE_ENV: oneOf(["development", "test", "production"], "development"),
  HOST: T.String({ minLength: 1, default: "127.0.0.1" }),
  PORT: T.Optional(T.Integer({ minimum: 1, maximum: 65535 })),
  DATABASE_URL: T.Optional(T.String({ minLength: 1 })),
  /** Where migrations go when DATABASE_URL points at PgBouncer (transaction mode cannot hold their lock). */
  DIRECT_DATABASE_URL: T.Optional(T.String({ minLength: 1 })),
  JWT_SECRET: T.Optional(T.String({ minLength: 1 })),
  JWT_TTL_SECONDS: T.Integer({ minimum: 60, default: 3600 }),
  DB_POOL_MAX: T.Integer({ minimum: 1, maximum: 500, default: 5 }),
  DB_ACQUIRE_TIMEOUT_MS: T.Integer({ minimum: 1, maximum: 60000, default: 1000 }),
  DB_CONNECT_TIMEOUT_S: T.Integer({ minimum: 1, maximum: 120, default: 5 }),
  DB_VIA_PGBOUNCER: oneOf(["0", "1"], "0"),
  SEARCH_INDEX: oneOf(["none", "trgm"], "none"),
  /** How long one course search may run in the database before it is cancelled and answered 503. */
  SEARCH_TIMEOUT_MS: T.Integer({ minimum: 1, maximum: 60000, default: 2000 }),
  /**
   * Course searches one process runs at once; more wait (up to DB_ACQUIRE_TIMEOUT_MS, then 503), so
   * the rest of the pool stays free for browsing. Unset: half of DB_POOL_MAX, rounded up.
   */
  SEARCH_MAX_CONCURRENT: T.Optional(T.Integer({ minimum: 1, maximum: 500 })),
  CACHE: oneOf(["off", "redis"], "off"),
  /**
   * The Redis that replicas share (identity's login throttling, and the cache with CACHE=redis).
   * Unset: CACHE=redis looks on 127.0.0.1:6379, and without CACHE=redis no Redis is used at all.
   */
  REDIS_URL: T.Optional(T.String({ minLength: 1 })),
  /** How long a cached course page or course lives; creating a course drops the pages at once. */
  CACHE_TTL_SECONDS: T.Integer({ minimum: 1, maximum: 86400, default: 60 }),
  WORKERS: T.Integer({ minimum: 1, maximum: 64, default: 1 }),
  LOG_LEVEL: oneOf(LOG_LEVELS, "info"),
  /** Unset: `pretty` when stdout is a terminal, `json` otherwise (bun run start decides for its children). */
  LOG_FORMAT: T.Optional(T.Union(LOG_FORMATS.map((format) => T.Literal(format)))),
  UPSTREAM_TIMEOUT_MS: T.Integer({ minimum: 1, maximum: 60000, default: 2000 }),
  IDENTITY_URL: url("http://127.0.0.1:8001"),
  COURSE_URL: url("http://127.0.0.1:8002"),
  ENROLLMENT_URL: url("http://127.0.0.1:8003"),
  PAYMENT_URL: url("http://127.0.0.1:8004"),
  NOTIFICATION_URL: url("http://127.0.0.1:8005"),
  /** When set, the Lab page reads Prometheus instead of each service's /metrics. */
  PROMETHEUS_URL: T.Optional(T.String({ minLength: 1 })),
  /** Where the Lab page finds finished runs (`/lab?run=`): the repository's experiments/ when unset. */
  EXPERIMENTS_DIR: T.Optional(T.String({ minLength: 1 })),
  /**
   * The proxies whose X-Forwarded-For is believed: comma-separated addresses or CIDR ranges (an
   * ingress in front of the web app, a reverse proxy on the machine). Empty: the socket's peer is
   * the client, whatever a header claims (shared/src/client-address.ts).
   */
  TRUSTED_PROXIES: T.String({ default: "" }),
  /** Failed logins for one email within the window before further attempts get 429 (identity). */
  LOGIN_FAILURES_PER_ACCOUNT: T.Integer({ minimum: 1, maximum: 10000, default: 5 }),
  /** Failed logins from one client address within the window before it gets 429 (identity). */
  LOGIN_FAILURES_PER_CLIENT: T.Integer({ minimum: 1, maximum: 100000, default: 30 }),
  /** How long failed logins are remembered, counted from the first one (identity). */
  LOGIN_WINDOW_SECONDS: T.Integer({ minimum: 1, maximum: 86400, default: 300 }),
  /** Registrations from one client address within LOGIN_WINDOW_SECONDS before it gets 429 (identity). */
  REGISTRATIONS_PER_CLIENT: T.Integer({ minimum: 1, maximum: 100000, default: 20 }),
});

export type Env = Static<typeof EnvSchema>;
export type Config = Env & { PORT: number; JWT_SECRET: string };

export const DEVELOPMENT_JWT_SECRET = "coursework-lab-development-secret-not-for-production";
const MIN_PRODUCTION_SECRET_LENGTH = 32;

export class ConfigError extends Error {}

/** Parses the environment; throws ConfigError with one line naming the first bad variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env, defaultPort?: number): Config {
  const known: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key];
    if (value !== undefined && value !== "") known[key] = value;
  }
  const env = Value.Convert(EnvSchema, Value.Default(EnvSchema, known));
  const problem = Value.Errors(EnvSchema, env).First();
  if (problem) {
    const name = problem.path.replace(/^\//, "");
    throw new ConfigError(
      `config: ${name} is invalid (${problem.message.toLowerCase()}), got ${JSON.stringify(source[name] ?? null)}`,
    );
  }
  const parsed = env as Env;
  try {
    parseTrustedProxies(parsed.TRUSTED_PROXIES);
  } catch (error) {
    throw new ConfigError(`config: TRUSTED_PROXIES is invalid (${(error as Error).message})`);
  }
  // believed every caller's X-Forwarded-For; ignoring it silently would count every browser behind a proxy as one
  if (source.TRUST_PROXY === "1") {
    throw new ConfigError("config: TRUST_PROXY=1 is gone: list the proxies to believe in TRUSTED_PROXIES");
  }
  const port = parsed.PORT ?? defaultPort;
  if (port === undefined) throw new ConfigError("config: PORT is required");
  return { ...parsed, PORT: port, JWT_SECRET: jwtSecret(parsed) };
}

function jwtSecret(env: Env): string {
  if (env.NODE_ENV !== "production") return env.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET;
  if (!env.JWT_SECRET || env.JWT_SECRET.length < MIN_PRODUCTION_SECRET_LENGTH) {
    throw new ConfigError(
      `config: JWT_SECRET must be set to at least ${MIN_PRODUCTION_SECRET_LENGTH} characters when NODE_ENV=production`,
    );
  }
  if (env.JWT_SECRET === DEVELOPMENT_JWT_SECRET) {
    throw new ConfigError("config: JWT_SECRET is the development default, which NODE_ENV=production refuses");
  }
  return env.JWT_SECRET;
}

/** A service's configuration: the environment plus its contract port and a required DATABASE_URL. */
export function serviceConfig(name: ServiceName, source = process.env): Config & { DATABASE_URL: string } {
  const config = parseEnv(source, SERVICES[name].port);
  if (!config.DATABASE_URL) throw new ConfigError(`config: DATABASE_URL is required for the ${name} service`);
  return { ...config, DATABASE_URL: config.DATABASE_URL };
}
