/**
 * bun run bench:seed [--rounds N] [--users N --courses N --enrollments N --payments N] [--seed N]
 * The seed against PostgreSQL's own bulk path: on a throw-away embedded server, loads the --full
 * dataset (or the sizes given) once with `seedDatabases` and once with `psql \copy` from CSV files of
 * the same rows, each into fresh, migrated databases with the same transaction, sequence and ANALYZE
 * steps, and prints both times and their ratio. Not a test: run it on a quiet machine.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { migrate, SERVICE_NAMES, SERVICES, type ServiceName } from "@lab/shared";
import { $, SQL } from "bun";
import { parseCommandLine, wholeNumber } from "./lib/args";
import { ensureDatabases, freePort, startEmbeddedPostgres } from "./lib/postgres";
import { hashLabPassword } from "./seed/accounts";
import { checkSeed } from "./seed/check";
import { generateDataset, type TableLoad, tableLoads } from "./seed/generate";
import { migrationsOf, SEED_TABLES, seedDatabases } from "./seed/load";
import { formatCount, formatSeconds } from "./seed/progress";
import { DATASET_FLAGS, datasetFromFlags, SeedError } from "./seed/sizes";

const PSQL = process.env.PSQL ?? "psql";
const line = parseCommandLine({
  name: "bench:seed",
  usage: "usage: bun run bench:seed [--rounds N] [--users N] [--courses N] [--enrollments N] [--payments N] [--seed N]",
  help: `Times the seed against psql \\copy of the same rows on a throw-away embedded PostgreSQL (the --full sizes unless given).
  --rounds N   how many times each load runs (default 3); the medians are compared`,
  options: { ...DATASET_FLAGS, rounds: { type: "string" } },
});
const { values } = line;
const { sizes, seed } = (() => {
  try {
    return datasetFromFlags({ ...values, full: true });
  } catch (error) {
    return line.fail(error instanceof SeedError ? error.message : String(error));
  }
})();
const rounds = values.rounds === undefined ? 3 : wholeNumber(line, "rounds", values.rounds, { min: 1 });

const say = (line: string) => console.log(line);
const psqlVersion = (await $`${PSQL} --version`.text()).trim();
const cpu = cpus();
say(
  `bench:seed — ${formatCount(sizes.users)} users, ${formatCount(sizes.courses)} courses, ` +
    `${formatCount(sizes.enrollments)} enrollments, ${formatCount(sizes.payments)} payments (seed ${seed}), ${rounds} round(s)`,
);

// not inside `work`: mkdtemp's directory is private to root, and the server runs as the postgres user
const server = await startEmbeddedPostgres({
  dir: join(tmpdir(), `lab-bench-seed-pg-${process.pid}`),
  port: freePort(),
  persistent: false,
});
const work = await mkdtemp(join(tmpdir(), "lab-bench-seed-"));
try {
  const admin = new SQL({ url: server.url("postgres"), max: 1 });
  const [{ server_version }] = await admin`SHOW server_version`;
  await admin.close();
  say(
    `machine: ${cpu[0]?.model ?? "unknown CPU"} × ${cpu.length}, ${Math.round(totalmem() / 2 ** 30)} GiB; ` +
      `PostgreSQL ${server_version} (embedded); ${psqlVersion}; Bun ${Bun.version}`,
  );
  /** The five databases, created and migrated, under names that start with `prefix`. */
  const freshDatabases = async (prefix: string) => {
    const database = (name: ServiceName) => `${prefix}_${SERVICES[name].database}`;
    await ensureDatabases(server.url("postgres"), SERVICE_NAMES.map(database));
    const urls = {} as Record<ServiceName, string>;
    for (const name of SERVICE_NAMES) {
      urls[name] = server.url(database(name));
      const sql = new SQL({ url: urls[name], max: 1 });
      await migrate(sql, migrationsOf(name));
      await sql.close();
    }
    return urls;
  };
  const seeded = await freshDatabases("seed");
  const copied = await freshDatabases("psql");

  const loads = tableLoads(generateDataset(seed, sizes), hashLabPassword());
  const scripts = await writeCopyScripts(work, loads);

  const times = { psql: [] as number[], seed: [] as number[] };
  for (let round = 1; round <= rounds; round++) {
    const psqlMs = await timed(() =>
      Promise.all(
        SERVICE_NAMES.map((name) => $`${PSQL} -X -q -v ON_ERROR_STOP=1 -d ${copied[name]} -f ${scripts[name]}`.quiet()),
      ),
    );
    let steps = "";
    const seedMs = await timed(async () => {
      // throw-away databases of this command's own
      const { ms } = await seedDatabases({ urls: seeded, sizes, seed, reset: true, knownPasswords: true });
      steps = `generate ${formatSeconds(ms.generate)}, load ${formatSeconds(ms.load)}, analyze ${formatSeconds(ms.analyze)}`;
    });
    times.psql.push(psqlMs);
    times.seed.push(seedMs);
    say(`round ${round}: psql \\copy ${formatSeconds(psqlMs)} · seed ${formatSeconds(seedMs)} (${steps})`);
  }

  const psqlMs = median(times.psql);
  const seedMs = median(times.seed);
  say(
    `median: psql \\copy ${formatSeconds(psqlMs)} · bun run seed ${formatSeconds(seedMs)} · ` +
      `ratio ${(seedMs / psqlMs).toFixed(2)} (aim ≤ 1.5)`,
  );
  const report = await checkSeed(seeded, sizes);
  const same = await sameRows(seeded, copied);
  say(`seed check: ${report.problems.length === 0 ? "OK" : report.problems.map((p) => p.check).join("; ")}`);
  say(`same rows in both: ${same.length === 0 ? "yes" : `no, ${same.join(", ")} differ`}`);
  if (report.problems.length > 0 || same.length > 0) process.exitCode = 1;
} finally {
  await server.stop();
  await rm(work, { recursive: true, force: true });
}

/**
 * One psql script per database doing what the seed does there: in one transaction truncate, copy
 * the CSV file with FREEZE and advance the sequence; then ANALYZE.
 */
async function writeCopyScripts(dir: string, loads: TableLoad[]) {
  const scripts = {} as Record<ServiceName, string>;
  for (const name of SERVICE_NAMES) {
    const lines = ["BEGIN;", `TRUNCATE ${SEED_TABLES[name].join(", ")} RESTART IDENTITY;`];
    const after: string[] = [];
    for (const load of loads.filter((l) => l.service === name)) {
      const csv = join(dir, `${load.table}.csv`);
      const file = Bun.file(csv).writer();
      await load.ready;
      for (const chunk of load.chunks()) file.write(chunk.text);
      await file.end();
      lines.push(
        `\\copy ${load.table} (${load.columns.join(", ")}) FROM '${csv}' WITH (FORMAT csv, FREEZE)`,
        `SELECT setval(pg_get_serial_sequence('${load.table}', 'id'), ${Math.max(load.rows, 1)}, ${load.rows > 0});`,
      );
      after.push(`ANALYZE ${load.table};`);
    }
    lines.push("COMMIT;", ...after);
    scripts[name] = join(dir, `${name}.sql`);
    await Bun.write(scripts[name], `${lines.join("\n")}\n`);
  }
  return scripts;
}

async function timed(work: () => Promise<unknown>) {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

function median(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Tables whose rows differ between the two loads (password hashes aside: each load salts its own). */
async function sameRows(a: Record<ServiceName, string>, b: Record<ServiceName, string>) {
  const fingerprints: Record<string, [ServiceName, string]> = {
    users: [
      "identity",
      "SELECT md5(string_agg((id, email, full_name, role, is_verified, created_at)::text, ',' ORDER BY id)) AS f FROM users",
    ],
    courses: ["course", "SELECT md5(string_agg(c::text, ',' ORDER BY id)) AS f FROM courses c"],
    enrollments: ["enrollment", "SELECT md5(string_agg(e::text, ',' ORDER BY id)) AS f FROM enrollments e"],
    payments: ["payment", "SELECT md5(string_agg(p::text, ',' ORDER BY id)) AS f FROM payments p"],
  };
  const differ: string[] = [];
  for (const [table, [service, query]] of Object.entries(fingerprints)) {
    const [left, right] = await Promise.all(
      [a[service], b[service]].map(async (url) => {
        const sql = new SQL({ url, max: 1 });
        try {
          const [row] = await sql.unsafe(query);
          return row.f as string;
        } finally {
          await sql.close();
        }
      }),
    );
    if (left !== right) differ.push(table);
  }
  return differ;
}
