import { expect } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  databaseUrlVar,
  EnvSchema,
  migrate,
  parseEnv,
  SERVICE_NAMES,
  SERVICES,
  serviceConfig,
  WEB_PORT,
} from "@lab/shared";
import { SQL } from "bun";
import { EXPORTER_PORTS } from "../../scripts/lib/exporters";
import { CACHE_REDIS_ARGS, LOGIN_REDIS_ARGS } from "../../scripts/lib/redis";
import { freshDatabase } from "../support";
import { needs } from "../tools";
import {
  APPS,
  type ComposeConfig,
  composeConfig,
  dockerComposeBinary,
  environmentAfterEntrypoint,
  isService,
  PROD_SECRET,
  portMapping,
  ROOT,
  resolvedConfig,
  VARIANTS,
  type Variant,
  volumeMount,
} from "./compose";

const { describe, test } = needs(["docker-compose"]);

const experiments = readdirSync(join(ROOT, "experiments"), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(ROOT, "experiments", entry.name, "flags.env")))
  .map((entry) => entry.name)
  .sort();
const flagsFile = (experiment: string) => join(ROOT, "experiments", experiment, "flags.env");

const LOAD_PROFILE = "load";
const LOAD_SERVICES = ["locust", "locust-worker"];
/** Variables docker/entrypoint.sh reads besides EnvSchema's: the PgBouncer address it may pick. */
const ENTRYPOINT_VARIABLES = ["PGBOUNCER_DATABASE_URL"];
const schemaKeys = Object.keys(EnvSchema.properties);

const configs = new Map<string, Promise<ComposeConfig>>();
/** Resolved once per variant and env file: docker-compose takes a moment to start. */
function config(variant: Variant, envFile?: string) {
  const key = `${variant}|${envFile ?? ""}`;
  if (!configs.has(key)) configs.set(key, resolvedConfig(variant, { profiles: [LOAD_PROFILE], envFile }));
  return configs.get(key)!;
}

test("docker-compose is installed (the compose files are validated with it)", () => {
  expect(dockerComposeBinary()).toContain("docker-compose");
});

describe("every file, override and profile combination is valid", () => {
  for (const variant of Object.keys(VARIANTS) as Variant[]) {
    for (const profiles of [[], [LOAD_PROFILE]]) {
      test(`${VARIANTS[variant].join(" + ")}${profiles.length ? " --profile load" : ""}`, async () => {
        const env: Record<string, string> = variant === "prod" ? { JWT_SECRET: PROD_SECRET } : {};
        const run = await composeConfig({ files: VARIANTS[variant], profiles, env });
        expect(run.stderr).not.toContain("ERROR");
        expect(run.exitCode).toBe(0);
      });
    }
  }

  test("the experiments' flags.env files exist to be switched with --env-file", () => {
    expect(experiments.length).toBeGreaterThanOrEqual(5);
  });

  for (const experiment of experiments) {
    for (const variant of ["dev", "prod"] as const) {
      test(`--env-file experiments/${experiment}/flags.env with ${variant} reaches every app`, async () => {
        const resolved = await config(variant, flagsFile(experiment));
        const flags = Object.fromEntries(
          readFileSync(flagsFile(experiment), "utf8")
            .split("\n")
            .map((line) => /^([A-Z_]+)=(.*)$/.exec(line.trim()))
            .filter((match) => match !== null)
            .map((match) => [match[1] ?? "", match[2] ?? ""]),
        );
        expect(Object.keys(flags).length).toBeGreaterThan(0);
        for (const app of APPS) {
          const environment = resolved.services[app.service]?.environment ?? {};
          for (const [name, value] of Object.entries(flags))
            expect(environment[name], `${app.service} ${name}`).toBe(value);
        }
      });
    }
  }

  test("the production stack refuses to start without a JWT secret", async () => {
    const run = await composeConfig({ files: VARIANTS.prod });
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain("JWT_SECRET");
  });
});

describe("services and ports match the contract", () => {
  test("the five services and web, each built from the Dockerfile for its folder and port", async () => {
    const { services } = await config("base");
    for (const app of APPS) {
      const service = services[app.service];
      expect(service, app.service).toBeDefined();
      expect(service?.build?.context).toBe(ROOT);
      expect(service?.build?.dockerfile ?? "Dockerfile").toBe("Dockerfile");
      expect(service?.build?.args).toEqual({ APP_DIR: app.dir, APP_PORT: String(app.port) });
      // one runtime stage for every app, the Dockerfile's last: no target to pick
      expect(service?.build?.target).toBeUndefined();
      expect(existsSync(join(ROOT, app.dir, "package.json")), `${app.dir}/package.json`).toBe(true);
      expect(service?.environment?.PORT).toBe(String(app.port));
      expect(service?.ports?.map(portMapping)).toEqual([{ hostIp: "127.0.0.1", host: app.port, container: app.port }]);
    }
  });

  test("one PostgreSQL 18 per service on host ports 5433-5437, with a named volume where 18 keeps its data", async () => {
    const { services, volumes } = await config("base");
    SERVICE_NAMES.forEach((name, index) => {
      const db = services[`${name}-db`];
      expect(db?.image).toBe("postgres:18");
      expect(db?.environment?.POSTGRES_DB).toBe(SERVICES[name].database);
      expect(db?.ports?.map(portMapping)).toEqual([{ hostIp: "127.0.0.1", host: 5433 + index, container: 5432 }]);
      expect(db?.volumes?.map(volumeMount)).toEqual([{ source: `${name}-db`, target: "/var/lib/postgresql" }]);
      expect(volumes).toHaveProperty(`${name}-db`);
    });
  });

  test("each service reaches its own database directly and through PgBouncer, and the others by name", async () => {
    const { services } = await config("base");
    for (const app of APPS) {
      const environment = services[app.service]?.environment ?? {};
      for (const callee of SERVICE_NAMES) {
        expect(environment[`${callee.toUpperCase()}_URL`]).toBe(`http://${callee}:${SERVICES[callee].port}`);
      }
      // identity's login counters in a Redis of their own, which the cache's entries cannot evict
      expect(environment.REDIS_URL).toBe(
        app.service === "identity" ? "redis://identity-redis:6379" : "redis://redis:6379",
      );
      if (!isService(app)) continue;
      const database = SERVICES[app.name].database;
      const direct = new URL(environment.DIRECT_DATABASE_URL ?? "");
      expect([direct.hostname, direct.port, direct.pathname]).toEqual([`${app.name}-db`, "5432", `/${database}`]);
      const pooled = new URL(environment.PGBOUNCER_DATABASE_URL ?? "");
      expect([pooled.hostname, pooled.port, pooled.pathname]).toEqual(["pgbouncer", "6432", `/${database}`]);
    }
  });

  test("PgBouncer pools exactly the five databases, in transaction mode, on the port the services use", () => {
    const ini = readFileSync(join(ROOT, "docker/pgbouncer/pgbouncer.ini"), "utf8");
    const section = (name: string) =>
      (ini.split(/^\[/m).find((part) => part.startsWith(`${name}]`)) ?? "")
        .split("\n")
        .slice(1)
        .filter((line) => line.trim() && !line.trim().startsWith(";"));
    const databases = Object.fromEntries(section("databases").map((line) => line.split(/\s*=\s*(.*)/).slice(0, 2)));
    expect(databases).toEqual(
      Object.fromEntries(
        SERVICE_NAMES.map((name) => [
          SERVICES[name].database,
          `host=${name}-db port=5432 dbname=${SERVICES[name].database}`,
        ]),
      ),
    );
    const settings = Object.fromEntries(section("pgbouncer").map((line) => line.split(/\s*=\s*(.*)/).slice(0, 2)));
    expect(settings.pool_mode).toBe("transaction");
    expect(settings.listen_port).toBe("6432");
  });

  test("Prometheus scrapes every app and exporter at its compose name and port", async () => {
    const prometheus = Bun.YAML.parse(readFileSync(join(ROOT, "grafana/prometheus.yml"), "utf8")) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const targets = prometheus.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets)).sort();
    const exporters = Object.entries(EXPORTER_PORTS).map(([job, port]) => `${job}-exporter:${port}`);
    expect(targets).toEqual([...APPS.map((app) => `${app.service}:${app.port}`), ...exporters].sort());
    const { services } = await config("base");
    for (const target of exporters) expect(services[target.split(":")[0] ?? ""], target).toBeDefined();
  });

  test("the exporters watch the five PostgreSQL servers, PgBouncer as its stats user, and Redis", async () => {
    const { services } = await config("base");
    const sources = (services["postgres-exporter"]?.environment?.DATA_SOURCE_NAME ?? "")
      .split(",")
      .map((s) => new URL(s));
    expect(sources.map((url) => [url.host, url.pathname])).toEqual(
      SERVICE_NAMES.map((name) => [`${name}-db:5432`, `/${SERVICES[name].database}`]),
    );
    expect(services["postgres-cpu-exporter"]?.pid).toBe("host");
    const bouncer = services["pgbouncer-exporter"]?.command?.join(" ") ?? "";
    const ini = readFileSync(join(ROOT, "docker/pgbouncer/pgbouncer.ini"), "utf8");
    const statsUser = /^stats_users = (\S+)$/m.exec(ini)?.[1];
    expect(new URL(bouncer.replace(/^.*?connectionString=/, "")).username).toBe(
      statsUser ?? "(pgbouncer.ini names no stats_users)",
    );
    expect(services["redis-exporter"]?.environment?.REDIS_ADDR).toBe("redis://redis:6379");
  });

  test("Grafana: provisioning and dashboards mounted where its provisioning points, anonymous viewers", async () => {
    const grafana = (await config("base")).services.grafana;
    const mounts = Object.fromEntries((grafana?.volumes ?? []).map(volumeMount).map((m) => [m.target, m.source]));
    expect(mounts["/etc/grafana/provisioning"]).toBe(join(ROOT, "grafana/provisioning"));
    expect(mounts["/var/lib/grafana/dashboards"]).toBe(join(ROOT, "grafana/dashboards"));
    expect(grafana?.environment).toMatchObject({
      GF_AUTH_ANONYMOUS_ENABLED: "true",
      GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer",
    });
    expect(grafana?.ports?.map(portMapping)[0]?.host).not.toBe(WEB_PORT);

    const inContainer = (path: string) => {
      const mount = Object.keys(mounts).find((target) => path.startsWith(`${target}/`) || path === target);
      return mount ? path.replace(mount, mounts[mount] ?? "") : path;
    };
    const home = grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? "";
    expect(existsSync(inContainer(home)), home).toBe(true);
    const provider = Bun.YAML.parse(readFileSync(join(ROOT, "grafana/provisioning/dashboards/lab.yml"), "utf8")) as {
      providers: { options: { path: string } }[];
    };
    for (const { options } of provider.providers) expect(options.path).toBe("/var/lib/grafana/dashboards");
    const datasources = Bun.YAML.parse(
      readFileSync(join(ROOT, "grafana/provisioning/datasources/prometheus.yml"), "utf8"),
    ) as { datasources: { url: string }[] };
    const { services } = await config("base");
    for (const { url } of datasources.datasources) {
      const { hostname, port } = new URL(url);
      expect(services[hostname]?.ports?.map(portMapping).map((p) => String(p.container))).toContain(port);
    }
  });
});

describe("environment of the Bun apps", () => {
  test("every variable passed to an app is one EnvSchema (or the entrypoint) reads: no typos", async () => {
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      const { services } = await config(variant);
      for (const app of APPS) {
        const unknown = Object.keys(services[app.service]?.environment ?? {}).filter(
          (key) => !schemaKeys.includes(key) && !ENTRYPOINT_VARIABLES.includes(key),
        );
        expect(unknown, `${variant} ${app.service}`).toEqual([]);
      }
    }
  });

  test("every EnvSchema variable is settable for every app (a new variable must be added to compose.yaml)", async () => {
    const { services } = await config("base");
    const databaseOnly = ["DATABASE_URL", "DIRECT_DATABASE_URL"];
    for (const app of APPS) {
      const passed = Object.keys(services[app.service]?.environment ?? {});
      // DATABASE_URL is docker/entrypoint.sh's to choose; the web app has no database.
      const expected = schemaKeys.filter(
        (key) => key !== "DATABASE_URL" && (isService(app) || !databaseOnly.includes(key)),
      );
      expect(
        expected.filter((key) => !passed.includes(key)),
        app.service,
      ).toEqual([]);
    }
  });

  test("identity believes no X-Forwarded-For while its port is published; the web app's setting is its own", async () => {
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      const { services } = await config(variant);
      // anyone who reaches a published port could claim any browser's address (docs/reliability.md)
      expect(services.identity?.ports?.length, variant).toBeGreaterThan(0);
      expect(services.identity?.environment?.TRUSTED_PROXIES, variant).toBe("");
      expect(services.web?.environment?.TRUSTED_PROXIES, variant).toBe("");
    }
    const behindProxy = await resolvedConfig("base", { env: { WEB_TRUSTED_PROXIES: "172.16.0.0/12" } });
    expect(behindProxy.services.web?.environment?.TRUSTED_PROXIES).toBe("172.16.0.0/12");
    expect(behindProxy.services.identity?.environment?.TRUSTED_PROXIES).toBe("");
  });

  test("login counters and the cache are two Redis: the counters' evicts nothing, the cache's only what expires", async () => {
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      const { services } = await config(variant);
      expect(services["identity-redis"]?.command?.slice(1), variant).toEqual([...LOGIN_REDIS_ARGS]);
      expect(services.redis?.command?.slice(1), variant).toEqual([...CACHE_REDIS_ARGS]);
    }
  });

  test("the defaults written in the compose files are the contract's (EnvSchema's)", () => {
    // Production runs two processes per service unless WORKERS says otherwise: the roadmap's multi-worker prod.
    const deliberate: Record<string, Record<string, string>> = { "compose.prod.yaml": { WORKERS: "2" } };
    const schema = EnvSchema.properties as Record<string, { default?: unknown }>;
    for (const file of new Set(Object.values(VARIANTS).flat())) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const [, name = "", fallback] of text.matchAll(/\$\{([A-Z_]+):-([^}]*)\}/g)) {
        if (!(name in schema)) continue;
        const expected = deliberate[file]?.[name] ?? String(schema[name]?.default ?? "");
        expect(`${file} ${name}=${fallback}`).toBe(`${file} ${name}=${expected}`);
      }
    }
  });

  for (const variant of Object.keys(VARIANTS) as Variant[]) {
    test(`${variant}: each app's configuration parses as the app itself parses it, HOST 0.0.0.0`, async () => {
      const { services } = await config(variant);
      for (const app of APPS) {
        const env = await environmentAfterEntrypoint(services[app.service]?.environment ?? {});
        if (isService(app)) {
          const parsed = serviceConfig(app.name, env);
          expect(parsed.DATABASE_URL).toBe(env.DIRECT_DATABASE_URL!);
          expect(parsed.PORT).toBe(app.port);
          expect(parsed.HOST).toBe("0.0.0.0");
        } else {
          const parsed = parseEnv(env, WEB_PORT);
          expect([parsed.PORT, parsed.HOST]).toEqual([WEB_PORT, "0.0.0.0"]);
        }
        expect(env.NODE_ENV).toBe(variant === "prod" ? "production" : "development");
      }
    });
  }

  test("DB_VIA_PGBOUNCER=1 makes the entrypoint connect the services through PgBouncer", async () => {
    const { services } = await resolvedConfig("dev", { env: { DB_VIA_PGBOUNCER: "1", DB_POOL_MAX: "20" } });
    for (const app of APPS.filter(isService)) {
      const env = await environmentAfterEntrypoint(services[app.service]?.environment ?? {});
      const parsed = serviceConfig(app.name, env);
      expect(new URL(parsed.DATABASE_URL).host).toBe("pgbouncer:6432");
      expect(new URL(parsed.DIRECT_DATABASE_URL ?? "").host).toBe(`${app.name}-db:5432`);
      expect([parsed.DB_VIA_PGBOUNCER, parsed.DB_POOL_MAX]).toEqual(["1", 20]);
    }
  });

  test("an explicit DATABASE_URL wins over the entrypoint's choice", async () => {
    const env = await environmentAfterEntrypoint({
      DATABASE_URL: "postgres://elsewhere/x",
      DIRECT_DATABASE_URL: "postgres://direct/x",
    });
    expect(env.DATABASE_URL).toBe("postgres://elsewhere/x");
  });
});

describe("health, dependencies and volumes", () => {
  test("every long-running container has a healthcheck, and every dependency waits for one", async () => {
    const { services } = await config("base");
    for (const [name, service] of Object.entries(services)) {
      if (!LOAD_SERVICES.includes(name)) expect(service.healthcheck?.test, name).toBeDefined();
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[dependency], `${name} -> ${dependency}`).toBeDefined();
        if (condition === "service_healthy") expect(services[dependency]?.healthcheck, dependency).toBeDefined();
        else expect(LOAD_SERVICES, `${name} -> ${dependency} (${condition})`).toContain(name);
      }
    }
    for (const app of APPS) {
      expect(services[app.service]?.healthcheck?.test).toEqual(["CMD", "bun", "/app/docker/healthcheck.ts"]);
    }
    for (const name of SERVICE_NAMES) {
      const own = name === "identity" ? ["identity-redis"] : [];
      expect(Object.keys(services[name]?.depends_on ?? {}).sort()).toEqual(
        [`${name}-db`, ...own, "pgbouncer", "redis"].sort(),
      );
    }
  });

  test("Locust is optional: only the load profile has it, and only it is in that profile", async () => {
    const { services } = await config("base");
    for (const [name, service] of Object.entries(services)) {
      expect(service.profiles ?? [], name).toEqual(LOAD_SERVICES.includes(name) ? [LOAD_PROFILE] : []);
    }
    const master = services.locust;
    expect(master?.command).toContain("--master");
    expect(master?.volumes?.map(volumeMount)).toContainEqual({
      source: join(ROOT, "locustfile.py"),
      target: "/mnt/locust/locustfile.py",
    });
    expect(master?.ports?.map(portMapping)).toEqual([{ hostIp: "127.0.0.1", host: 8089, container: 8089 }]);
  });

  test("every bind-mounted file exists, every named volume is declared", async () => {
    // The Locust input is exported from the seeded databases by the user before a load run.
    const generated = [join(ROOT, ".data/locust-input.json")];
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      const { services, volumes } = await config(variant);
      for (const [name, service] of Object.entries(services)) {
        for (const { source } of (service.volumes ?? []).map(volumeMount)) {
          if (source.startsWith("/")) {
            if (!generated.includes(source)) expect(existsSync(source), `${variant} ${name}: ${source}`).toBe(true);
          } else {
            expect(volumes, `${variant} ${name}: volume ${source}`).toHaveProperty(source);
          }
        }
      }
    }
  });
});

describe("dev and prod", () => {
  test("dev: each app's source is mounted where the image keeps it and runs under bun --watch", async () => {
    const { services } = await config("dev");
    for (const app of APPS) {
      const service = services[app.service];
      expect(service?.command).toEqual(["bun", "--watch", "src/index.ts"]);
      const mounts = (service?.volumes ?? []).map(volumeMount);
      expect(mounts).toContainEqual({ source: join(ROOT, "shared/src"), target: "/app/shared/src" });
      expect(mounts).toContainEqual({ source: join(ROOT, app.dir, "src"), target: `/app/${app.dir}/src` });
      for (const { source, target } of mounts) expect(target).toBe(source.replace(ROOT, "/app"));
      // the web app's CSS build scans web-htmx and the shared UI kit only: no service's source
      if (!isService(app)) expect(mounts.filter(({ source }) => source.startsWith(join(ROOT, "services")))).toEqual([]);
    }
  });

  test("prod: no source mounts, WORKERS per service, restart unless-stopped and limits everywhere", async () => {
    const { services } = await config("prod");
    for (const [name, service] of Object.entries(services)) {
      if (LOAD_SERVICES.includes(name)) continue;
      expect(service.restart, name).toBe("unless-stopped");
      expect(service.deploy?.resources?.limits?.cpus, name).toBeDefined();
      expect(service.deploy?.resources?.limits?.memory, name).toBeDefined();
    }
    for (const app of APPS) {
      const service = services[app.service];
      expect(service?.command).toBeUndefined();
      expect(service?.volumes ?? []).toEqual([]);
      expect(service?.environment?.WORKERS).toBe("2");
      expect(service?.environment?.JWT_SECRET).toBe(PROD_SECRET);
    }
    const workers = await resolvedConfig("prod", { env: { WORKERS: "4" } });
    expect(workers.services.course?.environment?.WORKERS).toBe("4");
  });
});

describe("commands run on the host beside the stack", () => {
  test("docker/host.env names each service's database at its published port", async () => {
    const { services } = await config("base");
    const env = Object.fromEntries(
      readFileSync(join(ROOT, "docker/host.env"), "utf8")
        .split("\n")
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    expect(Object.keys(env).sort()).toEqual(SERVICE_NAMES.map(databaseUrlVar).sort());
    for (const name of SERVICE_NAMES) {
      const url = new URL(env[databaseUrlVar(name)] ?? "");
      const db = services[`${name}-db`];
      const published = db?.ports?.map(portMapping)[0];
      expect([url.hostname, Number(url.port), url.pathname]).toEqual([
        published?.hostIp ?? "",
        published?.host ?? 0,
        `/${SERVICES[name].database}`,
      ]);
      expect([url.username, url.password]).toEqual([
        db?.environment?.POSTGRES_USER ?? "",
        db?.environment?.POSTGRES_PASSWORD ?? "",
      ]);
    }
  });

  test("docker/locust-input.ts writes the file the Locust containers mount, from a seeded identity database", async () => {
    const url = await freshDatabase("compose_locust_input");
    const sql = new SQL({ url, max: 1 });
    await migrate(sql, join(ROOT, "services/identity/migrations"));
    await sql`INSERT INTO users (email, password_hash, full_name, role, is_verified) VALUES
      ('student1@lab.test', 'x', 'S', 'student', false), ('teacher1@lab.test', 'x', 'T', 'teacher', true)`;
    await sql.close();
    const file = join(mkdtempSync(join(tmpdir(), "lab-locust-input-")), "input.json");
    const child = Bun.spawn(["bun", join(ROOT, "docker/locust-input.ts"), file], {
      cwd: ROOT,
      env: { ...process.env, IDENTITY_DATABASE_URL: url },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await child.exited, await new Response(child.stderr).text()).toBe(0);
    const input = await Bun.file(file).json();
    expect(input.students).toEqual(["student1@lab.test"]);
    expect(input.teachers).toEqual(["teacher1@lab.test"]);
    expect(input.password.length).toBeGreaterThan(0);
    expect(input.vocabulary.common.length).toBeGreaterThan(0);

    const { services } = await config("base");
    const mounts = (services.locust?.volumes ?? []).map(volumeMount);
    expect(mounts).toContainEqual({ source: join(ROOT, ".data/locust-input.json"), target: "/mnt/locust/input.json" });
    expect(services.locust?.environment?.LAB_INPUT_FILE).toBe("/mnt/locust/input.json");
  });
});
