import { afterEach, expect, setDefaultTimeout } from "bun:test";
import { SQL } from "bun";
import { freePort } from "../../scripts/lib/postgres";
import { spawnCollecting, stopProcess } from "../../scripts/lib/process";
import { type RedisServer, startRedis } from "../../scripts/lib/redis";
import { freshDatabase, testDatabaseUrl, waitUntil } from "../support";
import { needs } from "../tools";
import { type Container, containerEnv, type K8sObject, render, TEST_SECRETS, workloads } from "./kustomize";

const { test } = needs(["kubectl", "prometheus-postgres-exporter", "prometheus-redis-exporter", "redis-server"]);

// kubectl kustomize, real exporters, PostgreSQL and Redis on a shared 2-core machine
setDefaultTimeout(120_000);

/**
 * The exporters as deploy/k8s configures them, run here: Debian's builds of the same versions as
 * the images (postgres_exporter 0.11.1, redis_exporter 1.45.0) with each container's own arguments
 * and environment, the Secret's password standing in, pointed at a real PostgreSQL and Redis on
 * this machine instead of the pod's 127.0.0.1 port. PgBouncer's (prometheus-community's Go
 * exporter) has no Debian build; its connection string is checked for what it names.
 */
const POSTGRES_EXPORTER = "prometheus-postgres-exporter";
const REDIS_EXPORTER = "prometheus-redis-exporter";

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

function exporterOf(objects: K8sObject[], workload: string): Container {
  const container = workloads(objects)
    .find((candidate) => candidate.name === workload)
    ?.spec.containers.find((candidate) => candidate.name === "exporter");
  if (!container) throw new Error(`${workload} has no exporter`);
  return container;
}

/** Runs an exporter program until the test ends; its /metrics text once it answers. */
async function scrape(command: string[], env: Record<string, string>, port: number): Promise<string> {
  const binary = Bun.which(command[0]!);
  if (!binary) throw new Error(`${command[0]} is not installed: apt-get install ${command[0]} (.ci/run does)`);
  const { child, output } = spawnCollecting([binary, ...command.slice(1)], { env: { PATH: process.env.PATH, ...env } });
  stops.push(() => stopProcess(child, 5_000));
  let text = "";
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`${command[0]} exited: ${output()}`);
      text = await fetch(`http://127.0.0.1:${port}/metrics`)
        .then((response) => response.text())
        .catch(() => "");
      return text.length > 0;
    },
    { timeoutMs: 20_000, intervalMs: 100, failure: `${command[0]} served no metrics: ${output()}` },
  );
  return text;
}

test("each PostgreSQL's exporter: the manifest's user, password and flags reach the server, every database reported", async () => {
  const exporter = exporterOf(await render("base"), "course-db");
  const env = containerEnv([], exporter, TEST_SECRETS);
  expect(env.DATA_SOURCE_PASS).toBe(TEST_SECRETS.POSTGRES_PASSWORD);
  // the manifests' user, as the postgres image creates it from POSTGRES_USER (the test server checks passwords)
  const admin = new SQL({ url: testDatabaseUrl("postgres"), max: 1 });
  await admin.unsafe(
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${env.DATA_SOURCE_USER}') THEN
         CREATE ROLE ${env.DATA_SOURCE_USER} LOGIN;
       END IF;
     END $$;
     ALTER ROLE ${env.DATA_SOURCE_USER} PASSWORD '${env.DATA_SOURCE_PASS}'`,
  );
  await admin.close();
  const database = new URL(await freshDatabase("course_exporter")).pathname.slice(1);
  const server = new URL(testDatabaseUrl("postgres"));
  const port = freePort();
  const metrics = await scrape(
    [POSTGRES_EXPORTER, ...(exporter.args ?? []), `--web.listen-address=127.0.0.1:${port}`],
    { ...env, DATA_SOURCE_URI: env.DATA_SOURCE_URI!.replace("127.0.0.1:5432", server.host) },
    port,
  );
  expect(metrics).toMatch(/^pg_up 1$/m);
  // the dashboard's PostgreSQL rows read these, by database
  expect(metrics).toContain(`pg_stat_database_xact_commit{datid=`);
  expect(metrics).toContain(`datname="${database}"`);
  expect(metrics).toContain("pg_locks_count{");
});

test("both Redis exporters: the manifest's address reaches the Redis beside them", async () => {
  const objects = await render("base");
  const redis: RedisServer = await startRedis();
  stops.push(() => redis.stop());
  for (const workload of ["redis", "identity-redis"]) {
    const env = containerEnv(objects, exporterOf(objects, workload));
    const port = freePort();
    const metrics = await scrape(
      [REDIS_EXPORTER, "-web.listen-address", `127.0.0.1:${port}`],
      { REDIS_ADDR: env.REDIS_ADDR!.replace("127.0.0.1:6379", `127.0.0.1:${redis.port}`) },
      port,
    );
    expect(metrics, workload).toMatch(/^redis_up 1$/m);
    expect(metrics, workload).toContain("redis_memory_used_bytes");
  }
});

test("PgBouncer's exporter logs in to the admin console as pgbouncer.ini's stats user, with the Secret's password", async () => {
  const exporter = exporterOf(await render("base"), "pgbouncer");
  const env = containerEnv([], exporter, TEST_SECRETS);
  const flag = (exporter.args ?? []).find((arg) => arg.startsWith("--pgBouncer.connectionString="));
  // the kubelet expands $(POSTGRES_PASSWORD) in args from the container's env
  const url = new URL(flag!.split("=").slice(1).join("=").replace("$(POSTGRES_PASSWORD)", env.POSTGRES_PASSWORD!));
  const ini = await Bun.file(`${import.meta.dir}/../../docker/pgbouncer/pgbouncer.ini`).text();
  expect(url.username).toBe(/^stats_users = (\S+)$/m.exec(ini)?.[1] ?? "(pgbouncer.ini names no stats_users)");
  expect(url.password).toBe(TEST_SECRETS.POSTGRES_PASSWORD);
  expect([url.host, url.pathname]).toEqual([`127.0.0.1:${/^listen_port = (\d+)$/m.exec(ini)?.[1]}`, "/pgbouncer"]);
});
