import { afterAll } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startEmbeddedPostgres } from "../scripts/lib/postgres";
import { skippedSummary } from "./tools";

// One throw-away PostgreSQL for the whole run; each test file makes its own databases on it.
const server = await startEmbeddedPostgres({
  dir: join(tmpdir(), `lab-test-pg-${process.pid}`),
  port: freePort(),
  persistent: false,
  // durability buys a throw-away server nothing: with fsync, stopping a server that had created 30
  // databases took 20 s here (1.3 s without), longer than bun's hook timeout
  settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off" },
});
process.env.TEST_PG_PORT = String(server.port);
process.env.NODE_ENV = "test";
process.env.LOG_LEVEL ??= "warn";

// The hook timeout is bun's 5 s default whatever bunfig's test timeout: stopping a server that a whole
// run filled with databases outlasted it once on a fresh machine.
afterAll(async () => {
  await server.stop();
}, 60_000);

// What needs() skipped for a missing program, once at the end, with the one line that installs it all.
afterAll(() => {
  const summary = skippedSummary();
  if (summary) console.warn(`\n${summary}`);
});
