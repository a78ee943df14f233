import { SQL } from "bun";
import type { Calibration } from "../results/format";
import { CLOCK_TICKS, readProcStat } from "./cpu";

/**
 * A short calibration of the machine, recorded beside every run: the CPU time of fixed pieces of
 * work the platform itself does (a password hash as a login makes it, a JSON round trip of a
 * course page). Knees from different days or machines compare through these, since the same box
 * can be half as fast on another day (a login cost 109 ms of CPU on 2026-11-30, 175 ms on 2026-12-07).
 */

const ROUNDS = 5;
const JSON_ROUNDS = 2_000;

const page = {
  items: Array.from({ length: 20 }, (_, index) => ({
    id: 1000 + index,
    title: `Practical distributed systems, part ${index}`,
    description: "A hands-on course on queues, caches and the failure modes between them. ".repeat(4),
    price_cents: 4900 + index,
    teacher_id: 17,
    published: true,
    created_at: "2026-11-30T12:00:00.000Z",
  })),
  total: 100_000,
  limit: 20,
  offset: 0,
};

/** CPU milliseconds (user + system, this process) that `work` takes. */
function cpuMs(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const spent = process.cpuUsage(before);
  return (spent.user + spent.system) / 1000;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export function calibrate(rounds = ROUNDS): Calibration {
  const hashes: number[] = [];
  const json: number[] = [];
  for (let round = 0; round < rounds; round++) {
    hashes.push(cpuMs(() => Bun.password.hashSync("calibration-password")));
    json.push(
      cpuMs(() => {
        for (let index = 0; index < JSON_ROUNDS; index++) JSON.parse(JSON.stringify(page));
      }),
    );
  }
  return {
    password_hash_cpu_ms: Math.round(median(hashes) * 10) / 10,
    json_cpu_ms: Math.round(median(json) * 10) / 10,
    rounds,
  };
}

/**
 * PostgreSQL's own speed: the CPU its backend spends scanning the seed's courses, per 100,000 rows,
 * read from the backend's /proc/<pid>/stat (the server's time, not the round trip's). Every rung has
 * the same courses and no index of any rung serves this query; one backend, no parallel workers and no
 * JIT, so all of its CPU is in that one process. A round scans at least 300,000 rows (the full seed's
 * 100,000 three times, about 255 ms here, 25 clock ticks of 10 ms), so the median of 5 rounds reads it
 * to a few per cent; a smaller seed is scanned more times.
 */
export const POSTGRES_QUERY = "SELECT count(*) AS rows, sum(length(title) + length(description)) FROM courses";
const ROWS_PER_ROUND = 300_000;

export async function calibratePostgres(databaseUrl: string, rounds = ROUNDS): Promise<number> {
  const sql = new SQL({ url: databaseUrl, max: 1 });
  try {
    const [{ pid }] = await sql`SELECT pg_backend_pid() AS pid`;
    await sql.unsafe("SET max_parallel_workers_per_gather = 0; SET jit = off");
    const ticks = () => {
      const stat = readProcStat(pid);
      if (!stat) throw new Error(`calibration: PostgreSQL's backend ${pid} is not a process of this machine`);
      return stat.ticks;
    };
    // The first scan reads the table into the cache, and counts it.
    const [{ rows }] = await sql.unsafe(POSTGRES_QUERY);
    const count = Number(rows);
    if (!(count > 0)) throw new Error("calibration: no courses to scan (seed the database first)");
    const scans = Math.ceil(ROWS_PER_ROUND / count);
    const per100k: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const before = ticks();
      for (let scan = 0; scan < scans; scan++) await sql.unsafe(POSTGRES_QUERY);
      per100k.push((((ticks() - before) * 1000) / CLOCK_TICKS) * (100_000 / (scans * count)));
    }
    return Math.round(median(per100k) * 10) / 10;
  } finally {
    await sql.close();
  }
}
