import { migrate, SERVICE_NAMES, type ServiceName } from "@lab/shared";
import { inProduction, LAB_PASSWORD } from "./accounts";
import { connect, heldRows, migrationsOf, type SeedSummary, seedDatabases } from "./load";
import { formatCount, formatSeconds } from "./progress";
import { DEFAULT_SEED, type SeedSizes } from "./sizes";

/**
 * The catalog `bun run start` adds to empty databases, so that a first look at the web app is not a
 * blank page: a few hundred courses of the seed's vocabulary, a few teachers, students and enrollments.
 */
export const START_DEMO_SIZES: SeedSizes = { users: 40, courses: 300, enrollments: 300, payments: 60 };

/**
 * Seeds START_DEMO_SIZES into databases that hold nothing (the demo accounts aside), and says so in
 * one line; returns undefined, touching no row, when any seeded table holds data. With NODE_ENV=production
 * it adds nothing: every seeded account would open with the public LAB_PASSWORD.
 */
export async function addDemoCatalog(
  urls: Record<ServiceName, string>,
  say: (line: string) => void,
): Promise<SeedSummary | undefined> {
  if (inProduction()) return undefined;
  const started = performance.now();
  const connections = connect(urls);
  let held: string[];
  try {
    await Promise.all(SERVICE_NAMES.map((name) => migrate(connections[name], migrationsOf(name))));
    held = await heldRows(connections);
  } finally {
    await Promise.all(SERVICE_NAMES.map((name) => connections[name].close()));
  }
  if (held.length > 0) return undefined;
  // nothing connects to the databases yet (the services start after this), so no row can arrive in between
  const summary = await seedDatabases({ urls, sizes: START_DEMO_SIZES, seed: DEFAULT_SEED });
  const { sizes, teachers, students } = summary.dataset;
  say(
    `demo catalog added to the empty databases in ${formatSeconds(performance.now() - started)}: ` +
      `${formatCount(sizes.courses)} courses, ${teachers} teachers, ${students} students, ` +
      `${formatCount(sizes.enrollments)} enrollments (--no-demo leaves them empty)`,
  );
  return summary;
}

/** One line: the accounts a seeded dataset holds besides the demo accounts, all with LAB_PASSWORD. */
export function seededAccountsLine({ students, teachers, verifiedTeachers }: SeedSummary["dataset"]) {
  const range = (kind: string, from: number, to: number, what: string) =>
    to < from ? "" : `${kind}${from}@lab.test${to > from ? ` … ${kind}${to}@lab.test` : ""} (${what})`;
  const ranges = [
    range("teacher", 1, verifiedTeachers, "verified teachers"),
    range("teacher", verifiedTeachers + 1, teachers, "not verified"),
    range("student", 1, students, "students"),
  ].filter(Boolean);
  return `demo catalog accounts, password "${LAB_PASSWORD}": ${ranges.join(", ")}`;
}
