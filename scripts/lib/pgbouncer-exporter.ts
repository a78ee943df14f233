import { SQL } from "bun";

/**
 * PgBouncer's pools and totals as Prometheus metrics, read from its admin console on every scrape.
 *
 * Why not Debian's `prometheus-pgbouncer-exporter` (1.7): it reads SHOW STATS' `total_requests`,
 * a column PgBouncer dropped in 1.8, so against Debian's PgBouncer (1.18) it dies at start with a
 * KeyError. The names below are those of prometheus-community/pgbouncer_exporter, the exporter
 * compose.yaml runs, so one dashboard reads both; only the columns the dashboard uses are exported.
 */
const POOL_GAUGES = {
  cl_active: ["pgbouncer_pools_client_active_connections", "Client connections linked to a server connection"],
  cl_waiting: ["pgbouncer_pools_client_waiting_connections", "Client connections waiting for a server connection"],
  sv_active: ["pgbouncer_pools_server_active_connections", "Server connections linked to a client"],
  sv_idle: ["pgbouncer_pools_server_idle_connections", "Server connections idle and ready for a client"],
} as const;
const DATABASE_GAUGES = {
  pool_size: ["pgbouncer_databases_pool_size", "Maximum number of server connections"],
} as const;
const TOTAL_COUNTERS = {
  xact_count: ["pgbouncer_stats_sql_transactions_pooled_total", "SQL transactions pooled"],
} as const;

type Row = Record<string, unknown>;
type Family = { name: string; help: string; type: "gauge" | "counter"; samples: string[] };

const labelValue = (value: unknown) => String(value ?? "").replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
const labels = (pairs: Record<string, unknown>) =>
  `{${Object.entries(pairs)
    .map(([key, value]) => `${key}="${labelValue(value)}"`)
    .join(",")}}`;

function families(
  rows: Row[],
  columns: Record<string, readonly [string, string]>,
  type: Family["type"],
  labelsOf: (row: Row) => Record<string, unknown>,
): Family[] {
  return Object.entries(columns).map(([column, [name, help]]) => ({
    name,
    help,
    type,
    samples: rows.map((row) => `${name}${labels(labelsOf(row))} ${Number(row[column])}`),
  }));
}

const render = (list: Family[]) =>
  list.map((f) => `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n${f.samples.join("\n")}\n`).join("");

/** The metrics text for the PgBouncer behind `admin` (its admin console speaks only the simple protocol: `unsafe`). */
export async function pgbouncerMetrics(admin: SQL): Promise<string> {
  const up: Family = { name: "pgbouncer_up", help: "1 when the admin console answered", type: "gauge", samples: [] };
  try {
    const [pools, databases, totals] = await Promise.all(
      ["POOLS", "DATABASES", "STATS_TOTALS"].map((what) => admin.unsafe(`SHOW ${what}`) as Promise<Row[]>),
    );
    up.samples.push("pgbouncer_up 1");
    return render([
      up,
      ...families(pools ?? [], POOL_GAUGES, "gauge", (row) => ({ database: row.database, user: row.user })),
      ...families(databases ?? [], DATABASE_GAUGES, "gauge", (row) => ({ name: row.name, database: row.database })),
      ...families(totals ?? [], TOTAL_COUNTERS, "counter", (row) => ({ database: row.database })),
    ]);
  } catch {
    up.samples.push("pgbouncer_up 0");
    return render([up]);
  }
}

/** Serves `/metrics` for the PgBouncer whose admin console is `adminUrl` on 127.0.0.1:`port`. */
export function servePgBouncerMetrics(adminUrl: string, port: number) {
  const admin = new SQL({ url: adminUrl, max: 1, connectionTimeout: 2 });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    fetch: async (request) =>
      new URL(request.url).pathname === "/metrics"
        ? new Response(await pgbouncerMetrics(admin), { headers: { "content-type": "text/plain; version=0.0.4" } })
        : new Response("PgBouncer exporter: see /metrics\n", { status: 404 }),
  });
  return {
    port: server.port as number,
    stop: async () => {
      await server.stop(true);
      await admin.close();
    },
  };
}
