/**
 * bun scripts/pin-seed-statistics.ts [--data-dir DIR]
 * Takes the planner statistics of the experiments' seed templates (`<database>_seed` in DIR, default
 * the runner's own data folder) into scripts/experiments/run/seed-statistics.json, the snapshot every
 * experiment data folder then plans with. Take it again only when the seed's rows change: runs made
 * with one snapshot are not comparable with runs made with another.
 */
import { join, relative } from "node:path";
import { SERVICE_NAMES, SERVICES, type ServiceName } from "@lab/shared";
import { EXPERIMENT_DATA_DIR } from "./experiments/run/runner";
import { PINNED_STATISTICS_FILE, type SeedState, templateUrlsOf } from "./experiments/run/seed-state";
import { parseCommandLine } from "./lib/args";
import { freePort, startEmbeddedPostgres } from "./lib/postgres";
import { ROOT } from "./lib/root";
import { type PinnedStatistics, readPlannerStatistics, statisticsId } from "./seed/statistics";

const line = parseCommandLine({
  name: "pin-seed-statistics",
  usage: "usage: bun scripts/pin-seed-statistics.ts [--data-dir DIR]",
  help: `Writes the seed templates' planner statistics to ${PINNED_STATISTICS_FILE}.
  --data-dir DIR  the experiments' PostgreSQL data folder (default ${EXPERIMENT_DATA_DIR})`,
  options: { "data-dir": { type: "string" } },
});
const dataDir = line.values["data-dir"] ?? EXPERIMENT_DATA_DIR;
const stateFile = Bun.file(join(dataDir, "..", "seed-state.json"));
if (!(await stateFile.exists())) line.fail(`${dataDir} holds no seed templates (no seed-state.json beside it)`);
const state = (await stateFile.json()) as SeedState;

const server = await startEmbeddedPostgres({ dir: dataDir, port: freePort(), persistent: true });
try {
  const urls = Object.fromEntries(SERVICE_NAMES.map((name) => [name, server.url(SERVICES[name].database)])) as Record<
    ServiceName,
    string
  >;
  const tables = await readPlannerStatistics(templateUrlsOf(urls));
  const pinned: PinnedStatistics = {
    seed: state.seed,
    sizes: state.sizes,
    taken_from: `the seed templates of ${relative(ROOT, dataDir) || "."} on ${new Date().toISOString().slice(0, 10)}`,
    tables,
  };
  await Bun.write(PINNED_STATISTICS_FILE, `${JSON.stringify(pinned, null, 2)}\n`);
  console.log(`pinned planner statistics ${statisticsId(tables)} (seed ${state.seed}) in ${PINNED_STATISTICS_FILE}`);
} finally {
  await server.stop();
}
