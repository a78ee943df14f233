import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { ROOT } from "../../lib/stack";
import type {
  BudgetComponent,
  BudgetRecord,
  Calibration,
  CgroupVersion,
  SaturationPoint,
  Slowdown,
  ThrottleCounters,
} from "../results/format";
import { componentSlowdown } from "../results/format";
import { descendants, listProcesses, type ProcStat, parseProcStat } from "./cpu";

/**
 * CPU budgets: each component of a run in a cgroup of its own with a CFS quota, as Kubernetes runs
 * each pod under its CPU limit. The limits come from deploy/cpu-budgets.yaml (the table the
 * manifests agree with), scaled to this machine. cgroup v2 (`cpu.max`) and v1 (`cpu.cfs_quota_us`)
 * are both written directly: a handful of files, where a library or cgexec would add a dependency
 * and still leave the reading of `cpu.stat` to us.
 */

export const BUDGETS_FILE = join(ROOT, "deploy/cpu-budgets.yaml");

export type BudgetTable = {
  reference_cores: number;
  period_us: number;
  limits: Record<BudgetComponent, number>;
  reference_speed: ReferenceSpeed;
};

/** The calibrations (run/calibration.ts) of the machine a reference core stands for, in CPU ms. */
export type ReferenceSpeed = { password_hash_cpu_ms: number; json_cpu_ms: number; postgres_scan_cpu_ms: number };

const COMPONENTS: readonly BudgetComponent[] = ["service", "web", "postgres", "pgbouncer", "redis"];

export function readBudgetTable(file = BUDGETS_FILE): BudgetTable {
  const table = Bun.YAML.parse(readFileSync(file, "utf8")) as Partial<BudgetTable>;
  const positive = (value: unknown, what: string) => {
    if (typeof value !== "number" || !(value > 0)) throw new Error(`${file}: ${what} must be a positive number`);
    return value;
  };
  const limits = {} as Record<BudgetComponent, number>;
  for (const component of COMPONENTS) limits[component] = positive(table.limits?.[component], `limits.${component}`);
  const speed = table.reference_speed;
  return {
    reference_cores: positive(table.reference_cores, "reference_cores"),
    period_us: positive(table.period_us, "period_us"),
    limits,
    reference_speed: {
      password_hash_cpu_ms: positive(speed?.password_hash_cpu_ms, "reference_speed.password_hash_cpu_ms"),
      json_cpu_ms: positive(speed?.json_cpu_ms, "reference_speed.json_cpu_ms"),
      postgres_scan_cpu_ms: positive(speed?.postgres_scan_cpu_ms, "reference_speed.postgres_scan_cpu_ms"),
    },
  };
}

export const REFERENCE_SLOWDOWN: Slowdown = { machine: 1, postgres: 1 };

/**
 * This machine's slowdown today against the reference: the machine's is the geometric mean of the
 * hash's and the JSON loop's ratios, PostgreSQL's its scan's ratio.
 */
export function slowdownOf(calibration: Calibration, reference: ReferenceSpeed): Slowdown {
  const machine = Math.sqrt(
    (calibration.password_hash_cpu_ms / reference.password_hash_cpu_ms) *
      (calibration.json_cpu_ms / reference.json_cpu_ms),
  );
  // Without PostgreSQL's own calibration (`bun run start` on the demo seed) the machine's stands in.
  const postgres =
    calibration.postgres_scan_cpu_ms === undefined
      ? machine
      : calibration.postgres_scan_cpu_ms / reference.postgres_scan_cpu_ms;
  for (const value of [machine, postgres])
    if (!(value > 0)) throw new Error(`a calibration must be positive CPU times, not ${JSON.stringify(calibration)}`);
  return { machine: round(machine), postgres: round(postgres) };
}

/** The budgets of one run: the table's limits × one scale factor × the slowdown, in cores. */
export type Budgets = {
  scale: number;
  period_us: number;
  slowdown: Slowdown;
  /** Reference cores per process of each kind: the table's limits × scale, the same for every run. */
  reference: Record<BudgetComponent, number>;
  /** Cores per process of each kind on this machine today (a service's every worker gets `service`). */
  cores: Record<BudgetComponent, number>;
};

/** The scale that fits this machine: its cores ÷ the table's reference cores, unless one is given. */
export function budgetsFor(
  table: BudgetTable,
  scale = availableParallelism() / table.reference_cores,
  slowdown: Slowdown = REFERENCE_SLOWDOWN,
): Budgets {
  if (!(scale > 0)) throw new Error(`the CPU budget scale must be a positive number, not ${scale}`);
  const reference = {} as Record<BudgetComponent, number>;
  const cores = {} as Record<BudgetComponent, number>;
  for (const component of COMPONENTS) {
    reference[component] = round(table.limits[component] * scale);
    cores[component] = round(table.limits[component] * scale * componentSlowdown(component, slowdown));
  }
  return { scale: round(scale), period_us: table.period_us, slowdown, reference, cores };
}

/** What the lab leaves the load generator outside every budget: Locust took up to 0.45 core at the knees of the first budgeted round. */
export const LOAD_GENERATOR_CORES = 0.5;

/** The quota in µs per period for `cores`; the kernel's minimum quota is 1 ms. */
export const quotaUs = (cores: number, periodUs: number) => Math.max(1000, Math.round(cores * periodUs));

/** Where this machine lets the lab budget CPU, or why it cannot. */
export type CgroupSupport = { version: CgroupVersion; root: string } | { version: null; reason: string };

/** cgroup v2 with the cpu controller at `root`, else v1's cpu hierarchy under it, else why neither. */
export function detectCgroups(root = "/sys/fs/cgroup"): CgroupSupport {
  const controllers = join(root, "cgroup.controllers");
  if (existsSync(controllers) && readFileSync(controllers, "utf8").split(/\s+/).includes("cpu"))
    return { version: "v2", root };
  if (existsSync(join(root, "cpu", "cpu.cfs_quota_us"))) return { version: "v1", root: join(root, "cpu") };
  return {
    version: null,
    reason: `no cgroup cpu controller under ${root} (neither v2's cpu.max nor v1's cpu hierarchy)`,
  };
}

export function parseCpuStat(text: string, version: CgroupVersion): ThrottleCounters {
  const fields = Object.fromEntries(
    text
      .trim()
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .map(([key, value]) => [key, Number(value)]),
  ) as Record<string, number>;
  return {
    periods: fields.nr_periods ?? 0,
    throttled: fields.nr_throttled ?? 0,
    throttled_s: version === "v1" ? (fields.throttled_time ?? 0) / 1e9 : (fields.throttled_usec ?? 0) / 1e6,
  };
}

/** The parent of every run's cgroups: one folder to look in, and to clean, whatever was left. */
const LAB_GROUP = "coursework-lab";

/**
 * The cgroups of one run, under `<root>/coursework-lab/<run>/`: `place` puts processes into a named
 * group with a quota, `counters` reads every group's throttling, `remove` deletes the groups once
 * their processes are gone. Children a placed process forks later (PostgreSQL's backends) are born
 * in its group.
 */
export class CpuCgroups {
  readonly dir: string;
  private readonly groups = new Map<string, { path: string; cores: number }>();

  constructor(
    readonly support: { version: CgroupVersion; root: string },
    run: string,
    readonly periodUs: number,
  ) {
    this.dir = join(support.root, LAB_GROUP, run);
    this.makeDir(join(support.root, LAB_GROUP));
    this.makeDir(this.dir);
  }

  /** Creates (or reuses) group `name` with a quota of `cores` and moves every pid into it. */
  place(name: string, cores: number, pids: readonly number[]) {
    let group = this.groups.get(name);
    if (!group) {
      const path = join(this.dir, name);
      this.makeDir(path);
      const quota = quotaUs(cores, this.periodUs);
      if (this.support.version === "v2") writeFileSync(join(path, "cpu.max"), `${quota} ${this.periodUs}`);
      else {
        // v1 checks the quota against the current period: set the period first.
        writeFileSync(join(path, "cpu.cfs_period_us"), String(this.periodUs));
        writeFileSync(join(path, "cpu.cfs_quota_us"), String(quota));
      }
      group = { path, cores };
      this.groups.set(name, group);
    }
    for (const pid of pids) {
      try {
        writeFileSync(join(group.path, "cgroup.procs"), String(pid));
      } catch (error) {
        // A process that exited between listing and moving has nothing left to budget.
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      }
    }
  }

  /** The cores each group may use. */
  quotas(): Record<string, number> {
    return Object.fromEntries([...this.groups].map(([name, group]) => [name, group.cores]));
  }

  /** Every group's throttling counters now. */
  counters(): Record<string, ThrottleCounters> {
    const counters: Record<string, ThrottleCounters> = {};
    for (const [name, group] of this.groups) {
      try {
        counters[name] = parseCpuStat(readFileSync(join(group.path, "cpu.stat"), "utf8"), this.support.version);
      } catch {
        // removed under us: no sample for it this time
      }
    }
    return counters;
  }

  /**
   * Deletes the run's groups, waiting up to `waitMs` for processes still exiting (PostgreSQL's
   * backends outlive its stop by a moment); a group still holding one then is left, and named.
   */
  async remove(waitMs = 3000): Promise<string[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const left = [...this.groups].filter(([, group]) => !removeDir(group.path)).map(([name]) => name);
      if (!left.length) {
        removeDir(this.dir);
        return [];
      }
      if (Date.now() >= deadline) return left;
      await Bun.sleep(100);
    }
  }

  private makeDir(path: string) {
    // v2 gives a child the cpu controller only when its parent enables it for its children.
    if (this.support.version === "v2") enableCpu(dirname(path));
    if (!existsSync(path)) mkdirSync(path);
  }
}

function enableCpu(parent: string) {
  const control = join(parent, "cgroup.subtree_control");
  if (!existsSync(control) || readFileSync(control, "utf8").split(/\s+/).includes("cpu")) return;
  writeFileSync(control, "+cpu");
}

function removeDir(path: string): boolean {
  if (!existsSync(path)) return true;
  try {
    for (const entry of readdirSync(path, { withFileTypes: true }))
      if (entry.isDirectory() && !removeDir(join(path, entry.name))) return false;
    rmdirSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Groups earlier runs left behind (killed runs): removed when empty, so the folder does not grow. */
export function removeStaleGroups(support: { root: string }) {
  const parent = join(support.root, LAB_GROUP);
  if (!existsSync(parent)) return;
  for (const entry of readdirSync(parent, { withFileTypes: true })) {
    if (entry.isDirectory()) removeDir(join(parent, entry.name));
  }
}

/** Creates the run's cgroups, or says in one line why the run goes unbudgeted. */
export function openCgroups(
  run: string,
  periodUs: number,
  support = detectCgroups(),
): { cgroups: CpuCgroups } | { unbudgeted: string } {
  if (support.version === null) return { unbudgeted: support.reason };
  try {
    removeStaleGroups(support);
    return { cgroups: new CpuCgroups(support, run, periodUs) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "EACCES" || code === "EPERM" || code === "EROFS" ? "not writable (run as root)" : String(error);
    return { unbudgeted: `cgroup ${support.version} at ${support.root}: ${why}` };
  }
}

/** CPU pressure (PSI): microseconds some runnable task waited for a CPU, since boot; null without PSI. */
export function cpuPressureSomeUs(file = "/proc/pressure/cpu"): number | null {
  try {
    const line = readFileSync(file, "utf8")
      .split("\n")
      .find((row) => row.startsWith("some "));
    const total = line ? /total=(\d+)/.exec(line)?.[1] : undefined;
    return total === undefined ? null : Number(total);
  } catch {
    return null;
  }
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/** The processes of a running stack, by component, as the runner knows them. */
export type StackParts = {
  /** Each service's and the web app's process (a service with WORKERS>1: its primary). */
  processes: readonly { name: string; pid: number }[];
  postgres: readonly number[];
  pgbouncer: readonly number[];
  redis: readonly number[];
};

/** Which cgroups make up each component (a service with workers has one per worker), and the Bun processes in it. */
export type Placement = Record<string, { groups: string[]; cores: number; bun_pids: number[] }>;

/**
 * Puts every component of the stack under its budget: each service process (every worker of a
 * service with WORKERS>1, its idle primary beside worker 0), the web app, PostgreSQL with all its
 * backends, PgBouncer and Redis. What is not named (Locust, this runner) stays outside, on what is left.
 */
export function placeStack(cgroups: CpuCgroups, budgets: Budgets, parts: StackParts): Placement {
  const all = listProcesses();
  const tree = (roots: readonly number[]) => [...descendants(roots, all)];
  const placement: Placement = {};
  const put = (component: string, group: string, cores: number, pids: readonly number[], bun: readonly number[]) => {
    cgroups.place(group, cores, pids);
    const entry = placement[component] ?? { groups: [], cores: 0, bun_pids: [] };
    entry.groups.push(group);
    entry.cores = round(entry.cores + cores);
    entry.bun_pids.push(...bun);
    placement[component] = entry;
  };
  for (const { name, pid } of parts.processes) {
    const cores = name === "web" ? budgets.cores.web : budgets.cores.service;
    const workers = workersOf(pid, all);
    if (!workers.length) {
      put(name, name, cores, [pid], [pid]);
      continue;
    }
    workers.forEach((worker, index) => {
      put(name, `${name}.${index}`, cores, [...(index === 0 ? [pid] : []), ...tree([worker])], [worker]);
    });
  }
  if (parts.postgres.length) put("postgres", "postgres", budgets.cores.postgres, tree(parts.postgres), []);
  if (parts.pgbouncer.length) put("pgbouncer", "pgbouncer", budgets.cores.pgbouncer, tree(parts.pgbouncer), []);
  if (parts.redis.length) put("redis", "redis", budgets.cores.redis, tree(parts.redis), []);
  return placement;
}

/** The worker processes a service's primary started (WORKERS>1); none for a single process. */
export const workersOf = (primary: number, all: readonly ProcStat[]) =>
  all.filter((stat) => stat.ppid === primary).map((stat) => stat.pid);

/**
 * Samples the saturation counters once a second. Bun 1.4's performance.eventLoopUtilization()
 * answers zeros, so a Bun process's event-loop use is read as its main thread's CPU time from
 * /proc/<pid>/task/<pid>/stat: the thread that runs every JavaScript callback.
 */
export class SaturationSampler {
  private readonly points: SaturationPoint[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly cgroups: CpuCgroups | undefined,
    private readonly placement: Placement,
    private readonly intervalMs = 1000,
  ) {}

  start() {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): SaturationPoint[] {
    clearInterval(this.timer);
    this.sample();
    return this.points;
  }

  private sample() {
    const byGroup = this.cgroups?.counters() ?? {};
    const throttling: Record<string, ThrottleCounters> = {};
    const main_thread_ticks: Record<string, number[]> = {};
    for (const [component, { groups, bun_pids }] of Object.entries(this.placement)) {
      const counters = groups.map((group) => byGroup[group]).filter((value) => value !== undefined);
      if (counters.length)
        throttling[component] = {
          periods: sumOf(counters, (c) => c.periods),
          throttled: sumOf(counters, (c) => c.throttled),
          throttled_s: round(sumOf(counters, (c) => c.throttled_s)),
        };
      if (bun_pids.length) main_thread_ticks[component] = bun_pids.map(mainThreadTicks);
    }
    this.points.push({ at: Date.now() / 1000, psi_some_us: cpuPressureSomeUs(), throttling, main_thread_ticks });
  }
}

/** utime + stime of a process's main thread (its tid is its pid); 0 once it has gone. */
function mainThreadTicks(pid: number): number {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8"))?.ticks ?? 0;
  } catch {
    return 0;
  }
}

const sumOf = <T>(items: readonly T[], value: (item: T) => number) =>
  items.reduce((total, item) => total + value(item), 0);

/**
 * Budgets a running stack, or says why not: the cgroups (undefined when unbudgeted), where each
 * component went, what run.json records, and the one line to print.
 */
export function budgetStack(
  run: string,
  budgets: Budgets | undefined,
  parts: StackParts,
): { cgroups?: CpuCgroups; placement: Placement; record: BudgetRecord; said: string } {
  if (!budgets) {
    const reason = "turned off (--unbudgeted)";
    return { placement: {}, record: { mode: "unbudgeted", reason }, said: `unbudgeted: ${reason}` };
  }
  const opened = openCgroups(run, budgets.period_us);
  if ("unbudgeted" in opened)
    return {
      placement: {},
      record: { mode: "unbudgeted", reason: opened.unbudgeted },
      said: `unbudgeted: ${opened.unbudgeted}`,
    };
  const { cgroups } = opened;
  const placement = placeStack(cgroups, budgets, parts);
  const components = Object.fromEntries(
    Object.entries(placement).map(([name, { groups, cores }]) => [name, { cores, cgroups: groups }]),
  );
  const described = Object.entries(placement)
    .map(
      ([name, { cores, groups }]) =>
        `${name} ${cores}${groups.length > 1 ? ` (${groups.length} × ${round(cores / groups.length)})` : ""}`,
    )
    .join(", ");
  return {
    cgroups,
    placement,
    record: {
      mode: `cgroup ${cgroups.support.version}`,
      scale: budgets.scale,
      period_us: budgets.period_us,
      per_process: budgets.cores,
      reference_per_process: budgets.reference,
      slowdown: budgets.slowdown,
      components,
    },
    said: `CPU budgets in cores (cgroup ${cgroups.support.version}, ${budgets.scale} × deploy/cpu-budgets.yaml × slowdown ${budgets.slowdown.machine}, PostgreSQL's ${budgets.slowdown.postgres}, period ${budgets.period_us / 1000} ms): ${described}`,
  };
}
