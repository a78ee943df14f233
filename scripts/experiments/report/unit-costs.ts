import { join, relative } from "node:path";
import { SERVICE_NAMES, type ServiceName } from "@lab/shared";
import { parseSamples } from "@lab/shared/exposition";
import { parseCommandLine, wholeNumber } from "../../lib/args";
import { ROOT } from "../../lib/stack";
import { readStats } from "../analysis/locust-csv";
import { spread } from "../analysis/rate";
import { EXPERIMENTS_DIR, experimentNames } from "../results/flags";
import { csvFiles, SUMMARY_FILE, type Summary } from "../results/format";
import { finishedRuns, isBudgeted } from "../results/runs";
import { table } from "./markdown";

/**
 * What one request of the standard mix (locustfile.py) costs each part of the platform, read from
 * committed rate runs, and what that makes at larger rates: the figures docs/scaling.md multiplies.
 * Each figure is the median over the experiment's repeats of one offered step, measured over the
 * step's window only (summary.json), except the per-query ones, which come from the services'
 * own counters at the end of the run (metrics/*.prom) and so cover the whole run.
 */

/** The configuration a cluster runs (trigram index, PgBouncer, Redis, one process per pod) at a rate every run held. */
export const BASIS = { experiment: "04-redis", offeredRps: 1000 } as const;
export const PLAN_RATES = [1_000, 10_000, 100_000] as const;

/**
 * deploy/k8s: a service pod requests 500m of CPU and its HorizontalPodAutoscaler adds pods above 70 %
 * of that, so at steady state a pod does 0.35 cores of work; at least 2 pods each.
 */
export const POD_CPU_REQUEST_CORES = 0.5;
export const HPA_TARGET_UTILISATION = 0.7;
export const MIN_REPLICAS = 2;
/** A single-threaded process (PgBouncer, Redis) is planned at this share of its one core. */
const SINGLE_THREAD_TARGET = 0.7;
/** Server connections per database: the connections measured in use, twice over for bursts. */
const CONNECTION_HEADROOM = 2;
/** CACHE_TTL_SECONDS's default: how long each written entry stays in Redis. */
const CACHE_TTL_SECONDS = 60;

/** Every process group the runs measured; Locust is the load generator, sized for runs bigger than one box. */
const GROUPS = [...SERVICE_NAMES, "postgres", "pgbouncer", "redis", "locust"] as const;

type Median = { median: number; min: number; max: number };

/** The figures of one run (T = number), or their medians over the repeats (T = Median). */
type Figures<T> = {
  /** CPU milliseconds per request of the mix, by process group (= cores per 1,000 req/s). */
  cpuMs: Record<string, T>;
  /** Database connections in use (mean over the window) per 1,000 req/s, by service. */
  connectionsPer1k: Record<string, T>;
  /** Database round trips (a query, or a transaction) per request of the mix, over the whole run. */
  queriesPerRequest: T;
  /** PostgreSQL CPU milliseconds per database round trip. */
  postgresMsPerQuery: T;
  /** Each service's share of the time spent in database round trips, over the whole run. */
  queryTimeShare: Record<string, T>;
  /** Cache misses (each writes one entry) per request of the mix, and the share of look-ups that hit. */
  cacheMissesPerRequest: T;
  cacheHitRatio: T;
  /** Mean bytes of a course by id and of the largest list page, as Locust received them. */
  courseBytes: T;
  listPageBytes: T;
  /** Share of the mix's requests that write (every POST). */
  writeShare: T;
  /** Each request name's share of the mix. */
  endpointShare: Record<string, T>;
  /** Identity CPU per login, measured before each ladder. */
  loginCpuMs: T;
};

export type UnitCosts = Figures<Median> & {
  experiment: string;
  offeredRps: number;
  /** The runs' folders, relative to the repository. */
  runs: string[];
};

type RunFigures = Figures<number>;

const median = (values: readonly number[]): Median => {
  const result = spread(values);
  if (!result) throw new Error("no runs to take a median of");
  return { median: result.median, min: result.min, max: result.max };
};

export class UnitCostError extends Error {}

/** Average Content Size per request name, from Locust's stats CSV. */
async function contentSizes(dir: string): Promise<Record<string, number>> {
  return Object.fromEntries((await readStats(csvFiles(dir).stats)).map((row) => [row.name, row.avgBytes]));
}

async function runFigures(dir: string, offeredRps: number): Promise<RunFigures> {
  const summary = (await Bun.file(join(dir, SUMMARY_FILE)).json()) as Summary;
  const step = summary.rate?.steps.find((candidate) => candidate.offered_rps === offeredRps);
  if (!step?.use || !step.held) throw new UnitCostError(`${relative(ROOT, dir)}: no held step at ${offeredRps} req/s`);
  const { use } = step;
  const perRequest = (cores: number) => (cores * 1000) / step.achieved_rps;

  const queries: Record<string, { count: number; seconds: number }> = {};
  for (const service of SERVICE_NAMES) {
    const samples = parseSamples(await Bun.file(join(dir, "metrics", `${service}.prom`)).text());
    const total = (name: string) => samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
    queries[service] = {
      count: total("db_query_duration_seconds_count"),
      seconds: total("db_query_duration_seconds_sum"),
    };
  }
  const allQueries = Object.values(queries).reduce((sum, q) => sum + q.count, 0);
  const allQuerySeconds = Object.values(queries).reduce((sum, q) => sum + q.seconds, 0);
  const queriesPerRequest = allQueries / summary.totals.requests;

  const hits = Object.values(use.services).reduce((sum, s) => sum + s.cache_hits, 0);
  const misses = Object.values(use.services).reduce((sum, s) => sum + s.cache_misses, 0);
  const sizes = await contentSizes(dir);
  const listPages = Object.entries(sizes).filter(([name]) => name.startsWith("/courses?") || name === "/courses");
  const writes = summary.endpoints.filter((e) => e.method === "POST").reduce((sum, e) => sum + e.requests, 0);

  return {
    cpuMs: Object.fromEntries(GROUPS.map((group) => [group, perRequest(use.cpu_cores[group] ?? 0)])),
    connectionsPer1k: Object.fromEntries(
      SERVICE_NAMES.map((service) => [service, perRequest(use.services[service]?.pool_in_use_mean ?? 0)]),
    ),
    queriesPerRequest,
    postgresMsPerQuery: perRequest(use.cpu_cores.postgres ?? 0) / queriesPerRequest,
    queryTimeShare: Object.fromEntries(
      SERVICE_NAMES.map((service) => [service, queries[service]!.seconds / allQuerySeconds]),
    ),
    cacheMissesPerRequest: misses / (step.achieved_rps * step.measured_s),
    cacheHitRatio: hits + misses ? hits / (hits + misses) : 0,
    courseBytes: sizes["/courses/:id"] ?? 0,
    listPageBytes: Math.max(...listPages.map(([, bytes]) => bytes)),
    writeShare: writes / summary.totals.requests,
    endpointShare: Object.fromEntries(
      summary.endpoints.map((e) => [`${e.method} ${e.name}`, e.requests / summary.totals.requests]),
    ),
    loginCpuMs: summary.logins?.identity_cpu_ms_per_login ?? Number.NaN,
  };
}

/**
 * The median figures over every finished rate run of `experiment` at `offeredRps`, made without CPU
 * budgets: the plan sizes pods from what a process costs with the machine to itself, and a budgeted
 * run's ladder need not hold the basis rate.
 */
export async function unitCosts(
  experiment: string = BASIS.experiment,
  offeredRps: number = BASIS.offeredRps,
  root = EXPERIMENTS_DIR,
): Promise<UnitCosts> {
  if (!experimentNames(root).includes(experiment)) {
    throw new UnitCostError(`no experiment ${JSON.stringify(experiment)} (have: ${experimentNames(root).join(", ")})`);
  }
  const dirs = (await finishedRuns(join(root, experiment), "rate")).filter((dir) => !isBudgeted(dir));
  if (!dirs.length) throw new UnitCostError(`${experiment} has no finished unbudgeted rate run`);
  const runs = await Promise.all(dirs.map((dir) => runFigures(dir, offeredRps)));
  const each = (pick: (run: RunFigures) => number) => median(runs.map(pick));
  const byKey = (keys: readonly string[], pick: (run: RunFigures) => Record<string, number>) =>
    Object.fromEntries(keys.map((key) => [key, each((run) => pick(run)[key] ?? 0)]));
  return {
    experiment,
    offeredRps,
    runs: dirs.map((dir) => relative(ROOT, dir)),
    cpuMs: byKey(GROUPS, (run) => run.cpuMs),
    connectionsPer1k: byKey(SERVICE_NAMES, (run) => run.connectionsPer1k),
    queriesPerRequest: each((run) => run.queriesPerRequest),
    postgresMsPerQuery: each((run) => run.postgresMsPerQuery),
    queryTimeShare: byKey(SERVICE_NAMES, (run) => run.queryTimeShare),
    cacheMissesPerRequest: each((run) => run.cacheMissesPerRequest),
    cacheHitRatio: each((run) => run.cacheHitRatio),
    courseBytes: each((run) => run.courseBytes),
    listPageBytes: each((run) => run.listPageBytes),
    writeShare: each((run) => run.writeShare),
    endpointShare: byKey(Object.keys(runs[0]!.endpointShare), (run) => run.endpointShare),
    loginCpuMs: each((run) => run.loginCpuMs),
  };
}

const fixed = (value: number, digits: number) => value.toFixed(digits);
const range = (value: Median, digits: number) => `${fixed(value.min, digits)}–${fixed(value.max, digits)}`;
const thousands = (value: number) => Math.round(value).toLocaleString("en-US");

/** Per request of the mix: CPU by process group, database connections in use by service. */
export function unitCostTable(costs: UnitCosts): string {
  return table(
    ["part", "CPU ms per request (median)", "runs' range", "DB connections in use per 1,000 req/s", "share of DB time"],
    GROUPS.map((group) => {
      const connections = costs.connectionsPer1k[group];
      const share = costs.queryTimeShare[group];
      return [
        group,
        fixed(costs.cpuMs[group]!.median, 3),
        range(costs.cpuMs[group]!, 3),
        connections ? fixed(connections.median, 2) : "–",
        share ? `${Math.round(share.median * 100)} %` : "–",
      ];
    }),
  );
}

/** Cores a process group is busy at `rate` req/s of the mix. */
const coresAt = (costs: UnitCosts, group: string, rate: number) => (costs.cpuMs[group]!.median * rate) / 1000;

/**
 * Pods a service needs at `rate` req/s of the mix: its cores over what one pod carries at the
 * autoscaler's target, at least its minimum. deploy/k8s's maxReplicas must reach it (test/k8s).
 */
export function podsAt(costs: UnitCosts, service: ServiceName, rate: number): number {
  const podCores = POD_CPU_REQUEST_CORES * HPA_TARGET_UTILISATION;
  return Math.max(MIN_REPLICAS, Math.ceil(coresAt(costs, service, rate) / podCores));
}

/**
 * PostgreSQL cores a service's database needs at `rate` req/s of the mix: all PostgreSQL's cores
 * split by the service's share of DB time. deploy/k8s's limits must hold it at 10,000 req/s (test/k8s).
 */
export function databaseCoresAt(costs: UnitCosts, service: ServiceName, rate: number): number {
  return coresAt(costs, "postgres", rate) * (costs.queryTimeShare[service]?.median ?? 0);
}

/** Replicas, cores, connections and Redis memory at each planned rate, from the unit costs. */
export function sizingTable(costs: UnitCosts, rates: readonly number[] = PLAN_RATES): string {
  const cores = (group: string, rate: number) => coresAt(costs, group, rate);
  const rows: (string | number)[][] = SERVICE_NAMES.map((service) => [
    `${service} pods (cores)`,
    ...rates.map((rate) => `${podsAt(costs, service, rate)} (${fixed(cores(service, rate), 2)})`),
  ]);
  rows.push(["PostgreSQL cores, all databases", ...rates.map((rate) => fixed(cores("postgres", rate), 1))]);
  for (const service of SERVICE_NAMES.filter((s) => (costs.queryTimeShare[s]?.median ?? 0) >= 0.05)) {
    rows.push([
      `… of which ${service}'s database`,
      ...rates.map((rate) => fixed(databaseCoresAt(costs, service, rate), 1)),
    ]);
  }
  rows.push([
    "PgBouncer processes (cores)",
    ...rates.map((rate) => {
      const used = cores("pgbouncer", rate);
      return `${Math.ceil(used / SINGLE_THREAD_TARGET)} (${fixed(used, 2)})`;
    }),
  ]);
  for (const service of SERVICE_NAMES.filter((s) => (costs.connectionsPer1k[s]?.median ?? 0) > 0)) {
    rows.push([
      `PgBouncer pool for ${service} (server connections)`,
      ...rates.map((rate) =>
        Math.max(1, Math.ceil((costs.connectionsPer1k[service]!.median * rate * CONNECTION_HEADROOM) / 1000)),
      ),
    ]);
  }
  rows.push([
    "Redis cores (single-threaded: nodes)",
    ...rates.map((rate) => {
      const used = cores("redis", rate);
      return `${fixed(used, 2)} (${Math.ceil(used / SINGLE_THREAD_TARGET)})`;
    }),
  ]);
  rows.push([
    "Redis memory to keep every written entry for its TTL (at most), MiB",
    ...rates.map((rate) =>
      thousands((costs.cacheMissesPerRequest.median * rate * CACHE_TTL_SECONDS * costs.listPageBytes.median) / 2 ** 20),
    ),
  ]);
  rows.push([
    "Locust workers (cores)",
    ...rates.map((rate) => {
      const used = cores("locust", rate);
      return `${Math.ceil(used / SINGLE_THREAD_TARGET)} (${fixed(used, 2)})`;
    }),
  ]);
  return table(["at the standard mix", ...rates.map((rate) => `${thousands(rate)} req/s`)], rows);
}

/** The other measured figures the plan uses, one line each. */
export function measuredFigures(costs: UnitCosts): string {
  return [
    `- database round trips per request: ${fixed(costs.queriesPerRequest.median, 3)} (${range(costs.queriesPerRequest, 3)})`,
    `- PostgreSQL CPU per round trip: ${fixed(costs.postgresMsPerQuery.median, 3)} ms (${range(costs.postgresMsPerQuery, 3)})`,
    `- cache hit ratio: ${Math.round(costs.cacheHitRatio.median * 100)} %; cache misses (entries written) per request: ${fixed(costs.cacheMissesPerRequest.median, 3)} (${range(costs.cacheMissesPerRequest, 3)})`,
    `- a course by id: ${thousands(costs.courseBytes.median)} bytes; the largest list page: ${thousands(costs.listPageBytes.median)} bytes`,
    `- requests that write (every POST): ${fixed(costs.writeShare.median * 100, 1)} % of the mix; the mix: ${Object.entries(
      costs.endpointShare,
    )
      .map(([name, share]) => `${name} ${fixed(share.median * 100, 1)} %`)
      .join(", ")}`,
    `- identity CPU per login: ${Math.round(costs.loginCpuMs.median)} ms (${range(costs.loginCpuMs, 0)})`,
  ].join("\n");
}

/** Everything docs/scaling.md quotes from this script, in the order it quotes it. */
export function unitCostsMarkdown(costs: UnitCosts): string {
  return [
    `Basis: ${costs.experiment}, the ${thousands(costs.offeredRps)} req/s step, median of ${costs.runs.length} runs (${costs.runs.map((run) => `\`${run}/\``).join(", ")}).`,
    "",
    unitCostTable(costs),
    "",
    measuredFigures(costs),
    "",
    sizingTable(costs),
  ].join("\n");
}

if (import.meta.main) {
  const line = parseCommandLine({
    name: "unit-costs",
    usage: "usage: bun scripts/experiments/report/unit-costs.ts [EXPERIMENT] [--rate REQ_PER_S]",
    help: `Per-request CPU, connections and cache figures of the standard mix from the committed rate runs of
EXPERIMENT (default ${BASIS.experiment}) at the offered step --rate (default ${BASIS.offeredRps}), and the
sizing they give at ${PLAN_RATES.join(", ")} req/s: the tables of docs/scaling.md.`,
    options: { rate: { type: "string" } },
    positionals: { min: 0, max: 1 },
  });
  const rate =
    line.values.rate === undefined ? BASIS.offeredRps : wholeNumber(line, "rate", line.values.rate, { min: 1 });
  try {
    console.log(unitCostsMarkdown(await unitCosts(line.positionals[0] ?? BASIS.experiment, rate)));
  } catch (error) {
    if (error instanceof UnitCostError) line.fail(error.message);
    throw error;
  }
}
