import { describe, expect, test } from "bun:test";
import { ConfigError, DEVELOPMENT_JWT_SECRET, EnvSchema, parseEnv, serviceConfig } from "../src/config";

describe("parseEnv", () => {
  test("defaults follow the contract", () => {
    const config = parseEnv({}, 8002);
    expect(config).toMatchObject({
      PORT: 8002,
      DB_POOL_MAX: 5,
      SEARCH_INDEX: "none",
      CACHE: "off",
      WORKERS: 1,
      DB_VIA_PGBOUNCER: "0",
      JWT_SECRET: DEVELOPMENT_JWT_SECRET,
    });
  });

  test("values are converted to their types", () => {
    const config = parseEnv({ DB_POOL_MAX: "20", PORT: "9000", SEARCH_INDEX: "trgm" });
    expect(config.DB_POOL_MAX).toBe(20);
    expect(config.PORT).toBe(9000);
    expect(config.SEARCH_INDEX).toBe("trgm");
  });

  test("a malformed variable stops start-up with one line naming it", () => {
    for (const [name, value] of [
      ["DB_POOL_MAX", "abc"],
      ["DB_POOL_MAX", "0"],
      ["PORT", "70000"],
      ["CACHE", "memcached"],
    ]) {
      const run = () => parseEnv({ [name as string]: value as string }, 8001);
      expect(run).toThrow(ConfigError);
      expect(run).toThrow(new RegExp(`^config: ${name} is invalid .*got "${value}"$`));
    }
  });

  test("TRUSTED_PROXIES takes addresses and CIDR ranges only; the old TRUST_PROXY=1 is refused, not ignored", () => {
    expect(parseEnv({ TRUSTED_PROXIES: "10.0.0.0/8, 127.0.0.1,fd00::/8" }, 8001).TRUSTED_PROXIES).toBeString();
    for (const list of ["10.0.0.0/33", "proxy.internal", "10.0.0.1/x"]) {
      expect(() => parseEnv({ TRUSTED_PROXIES: list }, 8001)).toThrow(/^config: TRUSTED_PROXIES is invalid/);
    }
    expect(() => parseEnv({ TRUST_PROXY: "1" }, 8001)).toThrow("config: TRUST_PROXY=1 is gone");
  });

  test("production refuses a missing, short or development secret", () => {
    expect(() => parseEnv({ NODE_ENV: "production" }, 1)).toThrow(/JWT_SECRET must be set/);
    expect(() => parseEnv({ NODE_ENV: "production", JWT_SECRET: "short" }, 1)).toThrow(/at least 32/);
    expect(() => parseEnv({ NODE_ENV: "production", JWT_SECRET: DEVELOPMENT_JWT_SECRET }, 1)).toThrow(
      /development default/,
    );
    expect(parseEnv({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }, 1).JWT_SECRET).toBe("x".repeat(32));
  });

  test("a service requires DATABASE_URL", () => {
    expect(() => serviceConfig("course", {})).toThrow("config: DATABASE_URL is required for the course service");
    expect(serviceConfig("course", { DATABASE_URL: "postgres://x/y" }).PORT).toBe(8002);
  });

  test("the schema lists every variable it reads", () => {
    expect(Object.keys(EnvSchema.properties)).toContain("DB_ACQUIRE_TIMEOUT_MS");
  });
});
