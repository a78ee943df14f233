import { describe, expect, test } from "bun:test";
import {
  changedFlags,
  experimentNames,
  FLAG_NAMES,
  FlagsError,
  loadExperiment,
  parseFlags,
  parseVariantFlags,
  variantNames,
} from "../../scripts/experiments/results/flags";
import { PROFILES } from "../../scripts/experiments/results/profiles";
import { locustLoadArgs, plannedSeconds } from "../../scripts/experiments/run/locust-load";
import { assertTools, MissingToolsError, requiredTools } from "../../scripts/experiments/run/tools";

const BASELINE = "SEARCH_INDEX=none\nDB_POOL_MAX=5\nDB_VIA_PGBOUNCER=0\nCACHE=off\nWORKERS=1\n";

describe("parseFlags", () => {
  test("reads NAME=value lines, skipping comments and blank lines, and strips quotes", () => {
    const flags = parseFlags(
      `# baseline\n\nSEARCH_INDEX="trgm"\nDB_POOL_MAX = 20\nDB_VIA_PGBOUNCER=1\nCACHE='redis'\nWORKERS=2\n`,
    );
    expect(flags).toEqual({
      SEARCH_INDEX: "trgm",
      DB_POOL_MAX: "20",
      DB_VIA_PGBOUNCER: "1",
      CACHE: "redis",
      WORKERS: "2",
    });
  });

  test("every flag must be named: a default would silently change an experiment", () => {
    expect(() => parseFlags("SEARCH_INDEX=none\nDB_POOL_MAX=5\n")).toThrow(/missing DB_VIA_PGBOUNCER, CACHE, WORKERS/);
  });

  test("unknown names, repeated names and lines that are not NAME=value are refused with their line", () => {
    expect(() => parseFlags(`${BASELINE}JWT_SECRET=x\n`)).toThrow(/:6: JWT_SECRET is not an experiment flag/);
    expect(() => parseFlags(`${BASELINE}WORKERS=2\n`)).toThrow(/:6: WORKERS is set twice/);
    expect(() => parseFlags(`${BASELINE}export CACHE\n`)).toThrow(/:6: expected NAME=value/);
  });

  test("values are checked by the services' own config validation", () => {
    const bad = BASELINE.replace("SEARCH_INDEX=none", "SEARCH_INDEX=fulltext");
    expect(() => parseFlags(bad)).toThrow(FlagsError);
    expect(() => parseFlags(bad)).toThrow(/SEARCH_INDEX/);
    expect(() => parseFlags(BASELINE.replace("WORKERS=1", "WORKERS=0"))).toThrow(/WORKERS/);
    expect(() => parseFlags(BASELINE.replace("DB_POOL_MAX=5", "DB_POOL_MAX=many"))).toThrow(/DB_POOL_MAX/);
  });
});

describe("the five experiments", () => {
  test("exist in their numbered order", () => {
    expect(experimentNames()).toEqual(["01-baseline", "02-trgm-index", "03-pool", "04-redis", "05-workers"]);
  });

  test("01-baseline holds the roadmap's deliberate limits", async () => {
    const { flags } = await loadExperiment("01-baseline");
    expect(flags).toEqual({
      SEARCH_INDEX: "none",
      DB_POOL_MAX: "5",
      DB_VIA_PGBOUNCER: "0",
      CACHE: "off",
      WORKERS: "1",
    });
  });

  test("are cumulative: each one is the previous one plus exactly its own fix", async () => {
    const fixes: Record<string, Record<string, string>> = {
      "02-trgm-index": { SEARCH_INDEX: "trgm" },
      "03-pool": { DB_POOL_MAX: "20", DB_VIA_PGBOUNCER: "1" },
      "04-redis": { CACHE: "redis" },
      "05-workers": { WORKERS: "2" },
    };
    const names = experimentNames();
    for (let index = 1; index < names.length; index++) {
      const before = await loadExperiment(names[index - 1]!);
      const after = await loadExperiment(names[index]!);
      expect({ [after.name]: changedFlags(before.flags, after.flags) }).toEqual({ [after.name]: fixes[after.name]! });
    }
    const last = await loadExperiment("05-workers");
    expect(Object.keys(last.flags)).toEqual(FLAG_NAMES);
  });

  test("an unknown experiment names the ones there are", async () => {
    await expect(loadExperiment("06-nope")).rejects.toThrow(
      /01-baseline, 02-trgm-index, 03-pool, 04-redis, 05-workers/,
    );
  });
});

describe("variants", () => {
  const rung = parseFlags(
    BASELINE.replace("DB_POOL_MAX=5", "DB_POOL_MAX=20").replace("DB_VIA_PGBOUNCER=0", "DB_VIA_PGBOUNCER=1"),
  );

  test("a variant's flags.env names only what it changes; the rest is its rung's", () => {
    expect(parseVariantFlags("# the pool alone\nDB_VIA_PGBOUNCER=0\n", rung)).toEqual({
      ...rung,
      DB_VIA_PGBOUNCER: "0",
    });
  });

  test("an empty variant, a flag at the rung's own value, an unknown or invalid flag are refused", () => {
    expect(() => parseVariantFlags("# nothing\n", rung)).toThrow(/changes at least one flag/);
    expect(() => parseVariantFlags("DB_POOL_MAX=20\n", rung)).toThrow(/DB_POOL_MAX is the rung's own value/);
    expect(() => parseVariantFlags("JWT_SECRET=x\n", rung)).toThrow(/:1: JWT_SECRET is not an experiment flag/);
    expect(() => parseVariantFlags("WORKERS=0\n", rung)).toThrow(FlagsError);
  });

  test("03-pool's two variants split its two changes, each needing only its own tools", async () => {
    const pool = await loadExperiment("03-pool");
    expect(variantNames(pool.dir)).toEqual(["pgbouncer-only", "pool-only"]);
    const poolOnly = await loadExperiment("03-pool", undefined, "pool-only");
    const pgbouncerOnly = await loadExperiment("03-pool", undefined, "pgbouncer-only");
    expect(changedFlags(pool.flags, poolOnly.flags)).toEqual({ DB_VIA_PGBOUNCER: "0" });
    expect(changedFlags(pool.flags, pgbouncerOnly.flags)).toEqual({ DB_POOL_MAX: "5" });
    expect(poolOnly.dir).toEndWith("experiments/03-pool/variants/pool-only");
    expect(poolOnly.variant).toBe("pool-only");
    expect(requiredTools(poolOnly.flags).map((t) => t.program)).toEqual(["locust"]);
    expect(requiredTools(pgbouncerOnly.flags).map((t) => t.program)).toEqual(["locust", "pgbouncer"]);
  });

  test("an unknown variant names the ones there are", async () => {
    await expect(loadExperiment("03-pool", undefined, "nope")).rejects.toThrow(
      /no variant "nope" \(have: pgbouncer-only, pool-only\)/,
    );
    await expect(loadExperiment("01-baseline", undefined, "nope")).rejects.toThrow(/none in .*01-baseline\/variants/);
  });
});

describe("tools", () => {
  test("each experiment needs Locust, plus what its flags start", async () => {
    const programs = async (name: string) => requiredTools((await loadExperiment(name)).flags).map((t) => t.program);
    expect(await programs("01-baseline")).toEqual(["locust"]);
    expect(await programs("02-trgm-index")).toEqual(["locust"]);
    expect(await programs("03-pool")).toEqual(["locust", "pgbouncer"]);
    expect(await programs("04-redis")).toEqual(["locust", "pgbouncer", "redis-server"]);
  });

  test("a missing program is named with the apt-get line that installs it", async () => {
    const tools = requiredTools((await loadExperiment("05-workers")).flags);
    const onlyLocust = (program: string) => (program === "locust" ? "/usr/bin/locust" : null);
    expect(() => assertTools(tools, onlyLocust)).toThrow(MissingToolsError);
    expect(() => assertTools(tools, onlyLocust)).toThrow(
      /pgbouncer \(DB_VIA_PGBOUNCER=1[^\n]*\n {2}redis-server \(CACHE=redis\)/,
    );
    expect(() => assertTools(tools, onlyLocust)).toThrow(/install with: apt-get install pgbouncer redis-server$/);
    expect(() => assertTools(tools, () => "/usr/bin/x")).not.toThrow();
  });
});

describe("profiles", () => {
  test("standard is the roadmap's run: 100 users, 10/s, 5 minutes, on the full seed", () => {
    expect(locustLoadArgs(PROFILES.standard).args).toEqual(["-u", "100", "-r", "10", "-t", "300s"]);
    expect(PROFILES.standard.seedSize).toBe("full");
    expect(PROFILES.smoke.seedSize).toBe("small");
  });

  test("capacity selects the locustfile's step shape through the environment and gives no -t (Locust refuses both)", () => {
    const { args, env } = locustLoadArgs(PROFILES.capacity);
    expect(args).toEqual([]);
    expect(env).toMatchObject({ LAB_PROFILE: "capacity", LAB_P99_LIMIT_MS: "500", LAB_ERROR_LIMIT: "0.01" });
    expect(plannedSeconds(PROFILES.capacity)).toBe(
      (PROFILES.capacity.maxUsers / PROFILES.capacity.stepUsers) * PROFILES.capacity.stepSeconds,
    );
  });
});
