import { readdirSync, readFileSync } from "node:fs";
import type { CpuGroupReport, CpuReport } from "../results/format";

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
export const CLOCK_TICKS = (() => {
  const result = Bun.spawnSync(["getconf", "CLK_TCK"]);
  const value = Number(result.stdout.toString().trim());
  return Number.isFinite(value) && value > 0 ? value : 100;
})();

/**
 * `ticks`: utime + stime of the process itself; `reaped_ticks`: cutime + cstime, what its children
 * that have exited and been waited for used (PostgreSQL's parallel workers live for one query).
 */
export type ProcStat = { pid: number; ppid: number; name: string; ticks: number; reaped_ticks: number };

/** One process's CPU ticks from /proc/<pid>/stat (null when it has gone). */
export function parseProcStat(text: string): ProcStat | null {
  // The command name (field 2) may hold spaces and parentheses: the fields after the last ")" are fixed.
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const pid = Number(text.slice(0, text.indexOf(" ")));
  const name = text.slice(text.indexOf("(") + 1, close);
  const fields = text.slice(close + 2).split(" ");
  // After the name: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17): indexes 0, 1, 11–14 here.
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  const reaped_ticks = Number(fields[13]) + Number(fields[14]);
  if (![pid, ppid, ticks, reaped_ticks].every(Number.isFinite)) return null;
  return { pid, ppid, name, ticks, reaped_ticks };
}

/** One process's stat from /proc/<pid>/stat, null when it has gone. */
export function readProcStat(pid: number | string): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null; // exited (or never was)
  }
}

/** Every process /proc shows right now. */
export function listProcesses(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    // null: exited between the listing and the read
    const stat = readProcStat(entry);
    if (stat) stats.push(stat);
  }
  return stats;
}

/** Direct children of `parent` running `program` (the embedded PostgreSQL and PgBouncer are the launcher's). */
export const childrenNamed = (parent: number, program: string) =>
  listProcesses()
    .filter((stat) => stat.ppid === parent && stat.name === program)
    .map((stat) => stat.pid);

/** The pids of `roots` and all their descendants (service workers, PostgreSQL backends). */
export function descendants(roots: readonly number[], processes: readonly ProcStat[]): Set<number> {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of processes) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const found = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop()!;
    if (found.has(pid)) continue;
    found.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return found;
}

/**
 * Samples the CPU time of named process groups (each a set of root pids and their descendants)
 * from /proc once per interval. Each process counts its own ticks and those of its children that
 * exited and were reaped, so a child that lives between two samples (a parallel query worker) is
 * counted too. A process first seen during sampling counts from zero; one that exits keeps the ticks
 * last read, unless its parent is in the group: the parent's reaped ticks hold it from then on.
 */
export class CpuSampler {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly members = new Map<string, Set<number>>();
  private readonly parents = new Map<number, number>();
  /** `at`: seconds since start; `epoch`: wall-clock seconds, to line samples up with Locust's step windows. */
  private readonly series: { at: number; epoch: number; totals: Record<string, number> }[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private started = 0;

  constructor(
    private readonly groups: Record<string, readonly number[]>,
    private readonly intervalMs = 1000,
    private readonly windowSeconds = 10,
  ) {}

  start() {
    this.started = performance.now();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), this.intervalMs);
  }

  stop(): CpuReport {
    clearInterval(this.timer);
    this.sample(false);
    const wall = (performance.now() - this.started) / 1000;
    const groups: Record<string, CpuGroupReport> = {};
    for (const name of Object.keys(this.groups)) {
      const seconds = this.totalTicks(name) / CLOCK_TICKS;
      groups[name] = {
        cpu_seconds: round(seconds),
        cores_mean: round(wall > 0 ? seconds / wall : 0),
        cores_peak: round(this.peak(name)),
        processes: this.members.get(name)?.size ?? 0,
      };
    }
    return { wall_seconds: round(wall), window_seconds: this.windowSeconds, clock_ticks: CLOCK_TICKS, groups };
  }

  /** Each sample's ticks per group since sampling started, at wall-clock time (the rate profile's timeline). */
  timeline(): { at: number; ticks: Record<string, number> }[] {
    return this.series.map((sample) => ({ at: sample.epoch, ticks: sample.totals }));
  }

  private sample(initial: boolean) {
    const processes = listProcesses();
    const statOf = new Map(processes.map((stat) => [stat.pid, stat]));
    const totals: Record<string, number> = {};
    for (const [name, roots] of Object.entries(this.groups)) {
      const pids = descendants(roots, processes);
      const members = this.members.get(name) ?? new Set<number>();
      for (const pid of pids) {
        const stat = statOf.get(pid);
        if (stat === undefined) continue;
        const ticks = stat.ticks + stat.reaped_ticks;
        members.add(pid);
        this.parents.set(pid, stat.ppid);
        if (!this.first.has(pid)) this.first.set(pid, initial ? ticks : 0);
        this.last.set(pid, ticks);
      }
      // Gone, below an ancestor in the group that is still there: each parent on the way waited for its
      // child, so that ancestor's reaped ticks hold this one's now.
      for (const pid of members) {
        if (statOf.has(pid)) continue;
        let ancestor = this.parents.get(pid)!;
        while (members.has(ancestor) && !statOf.has(ancestor)) ancestor = this.parents.get(ancestor)!;
        if (members.has(ancestor)) this.last.set(pid, this.first.get(pid)!);
      }
      this.members.set(name, members);
      totals[name] = this.totalTicks(name);
    }
    this.series.push({ at: (performance.now() - this.started) / 1000, epoch: Date.now() / 1000, totals });
  }

  private totalTicks(name: string) {
    let sum = 0;
    for (const pid of this.members.get(name) ?? []) sum += (this.last.get(pid) ?? 0) - (this.first.get(pid) ?? 0);
    return sum;
  }

  /** Highest cores used over any window of windowSeconds (the whole run when it is shorter). */
  private peak(name: string) {
    let best = 0;
    for (let end = 0; end < this.series.length; end++) {
      const last = this.series[end]!;
      let start = end;
      while (start > 0 && last.at - this.series[start - 1]!.at <= this.windowSeconds) start--;
      const first = this.series[start]!;
      const span = last.at - first.at;
      const enough = span >= this.windowSeconds * 0.9 || (start === 0 && end === this.series.length - 1);
      if (span <= 0 || !enough) continue;
      best = Math.max(best, ((last.totals[name] ?? 0) - (first.totals[name] ?? 0)) / CLOCK_TICKS / span);
    }
    return best;
  }
}

const round = (value: number) => Math.round(value * 1000) / 1000;
