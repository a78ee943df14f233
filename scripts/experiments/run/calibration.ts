import type { Calibration } from "../results/format";

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
