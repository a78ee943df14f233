/**
 * The no-lost-writes check: every enrollment and payment a client was answered 201 for (one JSON line
 * each, as locustfile.py writes them to LAB_WRITES_FILE) exists in its database exactly once.
 *
 * After a run of the experiment runner, from the command line (the runner's PostgreSQL is stopped by
 * then; this starts it again on its data directory):
 *   LAB_WRITES_FILE=/tmp/writes.jsonl bun run experiment 01-baseline
 *   bun test/reliability/writes.ts /tmp/writes.jsonl [--data-dir .data/experiments/postgres]
 */
import { parseArgs } from "node:util";
import { SERVICES } from "@lab/shared";
import { SQL } from "bun";
import { EXPERIMENT_DATA_DIR } from "../../scripts/experiments/run/runner";
import { freePort, startEmbeddedPostgres } from "../../scripts/lib/postgres";

export type WriteKind = "enrollment" | "payment";
const TABLES: Record<WriteKind, string> = { enrollment: "enrollments", payment: "payments" };

export type KindReport = {
  /** Writes answered 201. */
  acknowledged: number;
  /** Ids acknowledged more than once (a 201 for a row that was already there). */
  acknowledged_twice: number[];
  /** Acknowledged ids with no row. */
  missing: number[];
};
export type WritesReport = Record<WriteKind, KindReport> & { rows_lost: number };

export async function readWrites(file: string): Promise<{ kind: WriteKind; id: number }[]> {
  const text = await Bun.file(file).text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

export async function checkWrites(
  writes: { kind: WriteKind; id: number }[],
  databaseUrls: Record<WriteKind, string>,
): Promise<WritesReport> {
  const report = { rows_lost: 0 } as WritesReport;
  for (const kind of Object.keys(TABLES) as WriteKind[]) {
    const ids = writes.filter((write) => write.kind === kind).map((write) => write.id);
    const seen = new Set<number>();
    const twice = new Set<number>();
    for (const id of ids) (seen.has(id) ? twice : seen).add(id);
    const sql = new SQL({ url: databaseUrls[kind], max: 1 });
    try {
      const found = new Set<number>();
      const unique = [...seen];
      // in slices, so a long run's ids stay within one statement's parameter limit
      for (let start = 0; start < unique.length; start += 10_000) {
        const slice = unique.slice(start, start + 10_000);
        const rows: { id: number }[] = await sql`SELECT id FROM ${sql(TABLES[kind])} WHERE id IN ${sql(slice)}`;
        for (const row of rows) found.add(row.id);
      }
      const missing = unique.filter((id) => !found.has(id));
      report[kind] = { acknowledged: ids.length, acknowledged_twice: [...twice], missing };
      report.rows_lost += missing.length;
    } finally {
      await sql.close();
    }
  }
  return report;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Bun.argv.slice(2),
    options: { "data-dir": { type: "string", default: EXPERIMENT_DATA_DIR } },
    allowPositionals: true,
  });
  const [file] = positionals;
  if (!file) {
    console.error("usage: bun test/reliability/writes.ts <writes.jsonl> [--data-dir DIR]");
    process.exit(2);
  }
  const postgres = await startEmbeddedPostgres({
    dir: values["data-dir"] as string,
    port: freePort(),
    persistent: true,
  });
  try {
    const report = await checkWrites(await readWrites(file), {
      enrollment: postgres.url(SERVICES.enrollment.database),
      payment: postgres.url(SERVICES.payment.database),
    });
    console.log(JSON.stringify(report, null, 2));
    const twice = report.enrollment.acknowledged_twice.length + report.payment.acknowledged_twice.length;
    process.exitCode = report.rows_lost === 0 && twice === 0 ? 0 : 1;
  } finally {
    await postgres.stop();
  }
}
