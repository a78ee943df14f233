import { SERVICE_NAMES } from "@lab/shared";
import { PortInUseError, startStack } from "./lib/stack";

const started = performance.now();
const say = (line: string) => console.log(`[lab] ${line}`);

let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack({ say });
} catch (error) {
  console.error(`[lab] ${error instanceof PortInUseError ? error.message : `could not start: ${error}`}`);
  process.exit(1);
}

say(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
for (const name of SERVICE_NAMES) {
  const url = stack.urls[name];
  if (url) say(`${name.padEnd(13)} ${url}   (docs ${url}/swagger)`);
}
if (stack.urls.web) say(`${"web".padEnd(13)} ${stack.urls.web}`);
say("Ctrl-C stops everything");

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  say("stopping…");
  await stack.stop();
  say("stopped");
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
