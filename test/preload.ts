import { afterAll } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startEmbeddedPostgres } from "../scripts/lib/postgres";

// One throw-away PostgreSQL for the whole run; each test file makes its own databases on it.
const server = await startEmbeddedPostgres({
  dir: join(tmpdir(), `lab-test-pg-${process.pid}`),
  port: freePort(),
  persistent: false,
});
process.env.TEST_PG_PORT = String(server.port);
process.env.NODE_ENV = "test";
process.env.LOG_LEVEL ??= "warn";

afterAll(async () => {
  await server.stop();
});
