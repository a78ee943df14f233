import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisClient, SQL } from "bun";
import { DASHBOARD_FILE, DATASOURCE, labDashboard } from "../../grafana/dashboard";
import { EXPORTER_PORTS, type Exporters, startExporters } from "../../scripts/lib/exporters";
import { type PgBouncer, startPgBouncer } from "../../scripts/lib/pgbouncer";
import { freePort } from "../../scripts/lib/postgres";
import { type PrometheusServer, scrapeConfig, startPrometheus } from "../../scripts/lib/prometheus";
import { type RedisServer, startRedis } from "../../scripts/lib/redis";
import { courseApp } from "../../services/course/src/app";
import { identityApp } from "../../services/identity/src/app";
import { PrometheusSource } from "../../web-htmx/src/lab/service";
import { type Harness, serviceHarness, tokenFor, waitUntil } from "../support";
import { needs } from "../tools";

const GRAFANA = join(import.meta.dir, "../../grafana");
const readYaml = async (path: string) => Bun.YAML.parse(await Bun.file(join(GRAFANA, path)).text()) as any;

type Panel = {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid: string };
  targets?: { refId: string; expr: string; datasource: { uid: string } }[];
};
const dashboard = (await Bun.file(DASHBOARD_FILE).json()) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: { query: string } }[] };
};
const queryPanels = dashboard.panels.filter((p) => p.type !== "row");
const expressions = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title, refId: target.refId, expr: target.expr })),
);
/** The services' own metrics are filtered by the service variable; the exporters' rows are not. */
const serviceExpressions = expressions.filter((e) => e.expr.includes("$service"));
const exporterExpressions = expressions.filter((e) => !e.expr.includes("$service"));

describe("grafana/dashboards/coursework-lab.json", () => {
  test("is what grafana/dashboard.ts builds (regenerate with `bun grafana/dashboard.ts`)", () => {
    expect(dashboard).toEqual(JSON.parse(JSON.stringify(labDashboard())));
  });

  test("is a Grafana dashboard: uid, unique panel ids, panels on the 24-column grid without overlap", () => {
    expect(dashboard).toMatchObject({ uid: "coursework-lab", title: "Coursework Lab" });
    expect(dashboard.schemaVersion).toBeGreaterThan(30);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const { gridPos, title } of dashboard.panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps another panel`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  test("every query uses the provisioned datasource and only defined variables", async () => {
    const provisioned = (await readYaml("provisioning/datasources/prometheus.yml")).datasources;
    expect(provisioned).toEqual([expect.objectContaining({ uid: DATASOURCE.uid, type: "prometheus" })]);
    const variables = dashboard.templating.list.map((v) => v.name);
    expect(variables).toContain("service");
    for (const panel of queryPanels) {
      expect(panel.datasource?.uid, panel.title).toBe(DATASOURCE.uid);
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(refIds.length, panel.title).toBeGreaterThan(0);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
      for (const target of panel.targets ?? []) {
        expect(target.datasource.uid).toBe(DATASOURCE.uid);
        for (const [, name] of target.expr.matchAll(/\$(\w+)/g)) {
          expect(name?.startsWith("__") || variables.includes(name as string), `$${name} in ${panel.title}`).toBe(true);
        }
      }
    }
  });

  test("covers what an experiment is judged by", () => {
    const all = expressions.map((e) => e.expr).join("\n");
    for (const needle of [
      "histogram_quantile(0.5,",
      "histogram_quantile(0.95,",
      "histogram_quantile(0.99,",
      'status=~"4.."',
      'status=~"5.."',
      "db_pool_in_use",
      "db_pool_waiting",
      "db_pool_exhausted_total",
      'cache_requests_total{service=~"$service",result="hit"}',
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "lab_flags",
      "sum by (service, method, route)",
      "sum by (service, route, le)",
      "lab_postgres_cpu_seconds_total",
      "pg_stat_activity_count",
      "pg_stat_database_xact_commit",
      "pg_stat_database_tup_returned",
      "pg_stat_database_blks_hit",
      "pg_locks_count",
      "pgbouncer_pools_client_waiting_connections",
      "pgbouncer_pools_server_active_connections",
      "pgbouncer_databases_pool_size",
      "redis_commands_processed_total",
      "redis_keyspace_hits_total",
      "redis_memory_used_bytes",
      "redis_connected_clients",
    ]) {
      expect(all).toContain(needle);
    }
  });
});

describe("scrape configurations and provisioning", () => {
  const ENDPOINTS = { identity: 8001, course: 8002, enrollment: 8003, payment: 8004, notification: 8005, web: 3000 };
  const jobs = (config: any) =>
    Object.fromEntries(
      config.scrape_configs.map((job: any) => [job.job_name, job.static_configs.flatMap((s: any) => s.targets)]),
    );

  test("compose scrapes every container by name, the embedded default every port on 127.0.0.1", async () => {
    const exporterContainers = Object.fromEntries(
      Object.entries(EXPORTER_PORTS).map(([job, port]) => [job, [`${job}-exporter:${port}`]]),
    );
    expect(jobs(await readYaml("prometheus.yml"))).toEqual({
      ...Object.fromEntries(Object.entries(ENDPOINTS).map(([name, port]) => [name, [`${name}:${port}`]])),
      ...exporterContainers,
    });
    expect(jobs(await readYaml("prometheus.local.yml"))).toEqual(
      Object.fromEntries(
        Object.entries({ ...ENDPOINTS, ...EXPORTER_PORTS }).map(([name, port]) => [name, [`127.0.0.1:${port}`]]),
      ),
    );
  });

  needs("promtool", "promtool's check of the scrape configurations").test(
    "promtool accepts both configurations",
    () => {
      const check = Bun.spawnSync(
        ["promtool", "check", "config", join(GRAFANA, "prometheus.yml"), join(GRAFANA, "prometheus.local.yml")],
        { stderr: "pipe", stdout: "pipe" },
      );
      expect(check.stderr.toString() + check.stdout.toString()).toContain("SUCCESS");
      expect(check.exitCode).toBe(0);
      // ~0.1 s alone; it once took over the default 5 s while the rest of the suite held both cores
    },
    30_000,
  );

  test("the dashboard provider loads files, the datasource points at the compose Prometheus", async () => {
    const [provider] = (await readYaml("provisioning/dashboards/lab.yml")).providers;
    expect(provider).toMatchObject({ type: "file", options: { path: expect.any(String) } });
    const [datasource] = (await readYaml("provisioning/datasources/prometheus.yml")).datasources;
    expect(datasource.url).toBe("http://prometheus:9090");
  });
});

needs(
  ["prometheus", "redis-server", "pgbouncer", "prometheus-postgres-exporter", "prometheus-redis-exporter"],
  "test/observability/dashboard.test.ts: the dashboard against a real Prometheus",
).describe("every dashboard query against a real Prometheus scraping real services and exporters", () => {
  const SCRAPE = "1s";
  let identity: Harness;
  let course: Harness;
  const base = { identity: "", course: "" };
  let prometheus: PrometheusServer;
  let dataDir: string;
  let redis: RedisServer;
  let pgbouncer: PgBouncer;
  let exporters: Exporters;
  /** Clients of the PgBouncer and the Redis the exporters watch: what the services do with them under 03 and 04. */
  let pooled: SQL;
  let cache: RedisClient;
  let traffic: Promise<void>;
  let trafficOn = true;

  async function sendTraffic() {
    const json = { "content-type": "application/json" };
    const teacher = await tokenFor({ role: "teacher", is_verified: true });
    const student = await tokenFor({ role: "student" });
    const registered = await fetch(`http://${base.identity}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "prom@lab.test", password: "promtest123", full_name: "Prom", role: "student" }),
    });
    expect(registered.status).toBe(201);
    const login = () =>
      fetch(`http://${base.identity}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "prom@lab.test", password: "promtest123" }),
      });
    const body = JSON.stringify({
      title: "PromQL",
      description: "d",
      level: "beginner",
      price_cents: 0,
      duration_hours: 1,
    });
    const created = await fetch(`http://${base.course}/courses`, {
      method: "POST",
      headers: { authorization: `Bearer ${teacher}`, "content-type": "application/json" },
      body,
    });
    const { id } = (await created.json()) as { id: number };
    let round = 0;
    while (trafficOn) {
      round++;
      await Promise.all([
        login(),
        fetch(`http://${base.identity}/me`),
        fetch(`http://${base.course}/courses?limit=5`),
        fetch(`http://${base.course}/courses/${id}`),
        fetch(`http://${base.course}/courses/${900_000 + round}`),
        fetch(`http://${base.course}/courses`, {
          method: "POST",
          headers: { ...json, authorization: `Bearer ${student}` },
          body,
        }),
        fetch(`http://${base.course}/courses`, { method: "POST", headers: json, body }),
      ]);
      if (round % 5 === 1) {
        // Hold the course service's only connection so a request waits past DB_ACQUIRE_TIMEOUT_MS: a real 503.
        const holder = course.db.run((sql) => sql`SELECT pg_sleep(0.3)`);
        expect((await fetch(`http://${base.course}/courses?limit=1`)).status).toBe(503);
        await holder;
      }
      await Promise.all([
        pooled`SELECT count(*) FROM courses`,
        cache.set("course:1", "cached").then(() => cache.get("course:1")),
        cache.get(`course:${900_000 + round}`),
      ]);
      await Bun.sleep(50);
    }
  }

  beforeAll(async () => {
    identity = await serviceHarness(
      "identity",
      join(import.meta.dir, "../../services/identity/migrations"),
      identityApp,
    );
    course = await serviceHarness("course", join(import.meta.dir, "../../services/course/migrations"), courseApp, {
      DB_POOL_MAX: "1",
      DB_ACQUIRE_TIMEOUT_MS: "50",
    });
    for (const [name, harness] of [
      ["identity", identity],
      ["course", course],
    ] as const) {
      harness.app.listen({ hostname: "127.0.0.1", port: 0 });
      base[name] = `127.0.0.1:${harness.app.server!.port}`;
    }
    dataDir = await mkdtemp(join(tmpdir(), "lab-prometheus-"));
    redis = await startRedis();
    cache = new RedisClient(redis.url);
    pgbouncer = await startPgBouncer({
      // Not under dataDir: mkdtemp's 0700 keeps out the user PgBouncer runs as when started by root.
      dir: join(tmpdir(), `lab-dashboard-pgbouncer-${process.pid}`),
      databases: { identity: identity.url, course: course.url },
      poolSize: 2,
    });
    pooled = new SQL({ url: pgbouncer.urls.course as string, max: 2, prepare: false });
    const notes: string[] = [];
    const free = Object.fromEntries(Object.keys(EXPORTER_PORTS).map((name) => [name, freePort()]));
    exporters = await startExporters(
      {
        embedded: true,
        databaseUrls: { identity: identity.url, course: course.url } as never,
        pgbouncer: { port: pgbouncer.port, adminUrl: pgbouncer.adminUrl, urls: {} as never },
        redis,
      },
      { say: (line) => notes.push(line), ports: free },
    );
    expect(Object.keys(exporters.targets).sort(), notes.join("\n")).toEqual(Object.keys(EXPORTER_PORTS).sort());
    const configFile = join(dataDir, "prometheus.yml");
    await Bun.write(configFile, scrapeConfig({ ...base, ...exporters.targets }, SCRAPE));
    prometheus = await startPrometheus({ configFile, dataDir: join(dataDir, "tsdb"), port: freePort() });
    traffic = sendTraffic();
    // Enough scrapes for rate() over the query window to see the traffic.
    await waitUntil(
      async () => {
        const targets = 2 + Object.keys(EXPORTER_PORTS).length;
        const up = await instant(`count(count_over_time(up[15s]) >= 6 and up == 1) == ${targets}`);
        return up.length > 0;
      },
      { timeoutMs: 25_000, intervalMs: 250, failure: "Prometheus did not collect enough scrapes in time" },
    );
  }, 40_000);

  afterAll(async () => {
    trafficOn = false;
    await traffic;
    await prometheus?.stop();
    await exporters?.stop();
    await pooled?.close();
    cache?.close();
    await pgbouncer?.stop();
    await rm(join(tmpdir(), `lab-dashboard-pgbouncer-${process.pid}`), { recursive: true, force: true });
    await redis?.stop();
    for (const harness of [identity, course]) {
      await harness?.app.stop(true);
      await harness?.close();
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  type Vector = { metric: Record<string, string>; value: [number, string] }[];
  async function instant(expr: string): Promise<Vector> {
    const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { status: string; error?: string; data: { result: Vector } };
    if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
    return body.data.result;
  }
  /** What Grafana sends for the queries: the variable substituted and its interval macro expanded. */
  const asSent = (expr: string, service: string) =>
    expr.replaceAll("$__rate_interval", "15s").replaceAll("$service", service);

  test("each expression returns data without error, for All services and for one", async () => {
    for (const service of [".+", "course"]) {
      for (const { panel, refId, expr } of serviceExpressions) {
        const result = await instant(asSent(expr, service));
        expect(result.length, `${panel} ${refId}: ${asSent(expr, service)}`).toBeGreaterThan(0);
        if (service === "course") expect(result.every((r) => r.metric.service === "course")).toBe(true);
        // Without a cache there are no look-ups: the hit ratio is 0/0 until CACHE=redis.
        if (panel === "Cache hit ratio") continue;
        expect(
          result.some((r) => Number.isFinite(Number(r.value[1]))),
          `${panel} ${refId} has only NaN`,
        ).toBe(true);
      }
    }
  });

  test("the service variable lists the scraped services", async () => {
    const query = dashboard.templating.list.find((v) => v.name === "service")!.query.query;
    const metric = /label_values\((\w+), service\)/.exec(query)![1];
    const response = await fetch(`${prometheus.url}/api/v1/label/service/values?match[]=${metric}`);
    const body = (await response.json()) as { data: string[] };
    expect(body.data).toEqual(["course", "identity"]);
  });

  test("the Lab page's Prometheus source reads the traffic, the pool and the flags", async () => {
    const source = new PrometheusSource(prometheus.url, ["identity", "course"], {
      windowSeconds: 15,
      historySeconds: 60,
    });
    const snapshot = await source.snapshot();
    expect(snapshot.source).toBe("prometheus");
    const course = snapshot.services.find((s) => s.service === "course")!;
    expect(course).toMatchObject({ up: true, poolSize: 1, flags: { DB_POOL_MAX: "1", SEARCH_INDEX: "none" } });
    expect(course.rps).toBeGreaterThan(0);
    expect(course.errors4xx).toBeGreaterThan(0);
    expect(course.errors5xx).toBeGreaterThan(0);
    expect(course.p50).toBeGreaterThan(0);
    expect(course.p99).toBeGreaterThanOrEqual(course.p50!);
    const series = new Set(snapshot.points.filter((p) => p.service === "identity").map((p) => p.series));
    expect([...series].sort()).toEqual(["errors4xx", "errors5xx", "p50", "p95", "p99", "rps"]);
  });

  test("the numbers are the traffic: routes by template, 4xx and 5xx seen, pool exhaustion counted", async () => {
    const routes = await instant(`sum by (route) (${HTTP_COUNT}{service="course"})`);
    const names = routes.map((r) => r.metric.route);
    expect(names).toEqual(expect.arrayContaining(["/courses", "/courses/:id"]));
    expect(names.every((name) => !/\d/.test(name ?? ""))).toBe(true);
    const errors = await instant(`sum by (status) (${HTTP_COUNT}{service="course", status=~"[45].."})`);
    expect(errors.map((r) => r.metric.status)).toEqual(expect.arrayContaining(["401", "404", "503"]));
    const exhausted = await instant(`db_pool_exhausted_total{service="course"}`);
    expect(Number(exhausted[0]!.value[1])).toBeGreaterThan(0);
    const fiveXX = await instant(asSent(expressions.find((e) => e.panel === "5xx error rate")!.expr, "course"));
    expect(Number(fiveXX[0]!.value[1])).toBeGreaterThan(0);
  });

  test("each exporter panel's expression returns numbers from the real exporters", async () => {
    expect(exporterExpressions.length).toBeGreaterThanOrEqual(15);
    for (const { panel, refId, expr } of exporterExpressions) {
      const result = await instant(asSent(expr, ".+"));
      expect(result.length, `${panel} ${refId}: ${expr}`).toBeGreaterThan(0);
      expect(
        result.some((r) => Number.isFinite(Number(r.value[1]))),
        `${panel} ${refId} has only NaN`,
      ).toBe(true);
    }
  });

  test("the exporters' numbers are the traffic: PostgreSQL busy, transactions through PgBouncer, Redis hits and misses", async () => {
    const value = async (panel: string, database?: string) => {
      const expr = exporterExpressions.find((e) => e.panel === panel)!.expr;
      const result = await instant(asSent(expr, ".+"));
      const row = database ? result.find((r) => (r.metric.datname ?? r.metric.database) === database) : result[0];
      return Number(row?.value[1]);
    };
    const courseDb = new URL(course.url).pathname.slice(1);
    expect(await value("PostgreSQL CPU")).toBeGreaterThan(0);
    expect(await value("PostgreSQL transactions/s", courseDb)).toBeGreaterThan(0);
    expect(await value("PgBouncer transactions/s", courseDb)).toBeGreaterThan(0);
    const hitRatio = await value("Redis hit ratio");
    expect(hitRatio).toBeGreaterThan(0);
    expect(hitRatio).toBeLessThan(1);
    expect(await value("Redis clients")).toBeGreaterThanOrEqual(1);
    const processes = await instant("lab_postgres_processes");
    expect(Number(processes[0]!.value[1])).toBeGreaterThan(1);
  });
});

const HTTP_COUNT = "http_request_duration_seconds_count";
