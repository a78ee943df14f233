/**
 * bun run locust [LOCUST OPTIONS…]: Locust with locustfile.py and its web UI against the running
 * `bun run start`, its input file written from the stack's seeded identity database.
 */
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { SERVICE_NAMES, serviceUrlVar } from "@lab/shared";
import { writeLocustInput } from "./experiments/run/runner";
import { findTool } from "./experiments/run/tools";
import { serviceDatabases } from "./lib/databases";
import { ROOT, runningStackUrls } from "./lib/stack";

const USAGE = "usage: bun run locust [LOCUST OPTIONS…]";
const HELP = `Starts Locust's web UI (http://127.0.0.1:8089) with locustfile.py against the running bun run start
(start it first), after writing the input Locust reads (seeded accounts, password, search words) to
LAB_INPUT_FILE (default .data/locust-input.json). Every argument goes to Locust (locust --help), e.g.
  bun run locust --web-port 8090
  bun run locust --headless -u 20 -r 5 -t 1m
The services are found at <SERVICE>_URL, or HOST and <SERVICE>_PORT as bun run start uses them; the
Host field of the web UI moves the load to another machine, each service on its own port.`;
const DEFAULT_WEB_PORT = "8089";
const LOCUSTFILE = join(ROOT, "locustfile.py");
const say = (line: string) => console.log(`[locust] ${line}`);
/** A usage error: one line and the usage, exit 2. */
const refuse = (message: string): never => {
  console.error(`locust: ${message}\n${USAGE}`);
  process.exit(2);
};
/** The stack or a tool is not there: one line, exit 1. */
const stop = (message: string): never => {
  console.error(`locust: ${message}`);
  process.exit(1);
};

const args = Bun.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(`${USAGE}\n${HELP}`);
  process.exit(0);
}
const locust = findTool("locust") ?? stop("locust is not installed: apt-get install python3-locust (Debian/Ubuntu)");
const pythonEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: "1" };

// Locust's own parser judges its arguments before anything is written or started: --list only
// imports the locustfile and names its users.
const check = Bun.spawnSync([locust, "-f", LOCUSTFILE, ...args, "--list"], { cwd: ROOT, env: pythonEnv });
if (check.exitCode !== 0) {
  const lines = check.stderr.toString().trim().split("\n");
  const error = lines.find((line) => line.startsWith("locust: error: "));
  refuse(error ? error.slice("locust: error: ".length) : (lines.at(-1) ?? `locust exited with ${check.exitCode}`));
}

const urls = runningStackUrls();
for (const name of SERVICE_NAMES) {
  const ready = await fetch(`${urls[name]}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
    (response) => response.ok,
    () => false,
  );
  if (!ready) stop(`${name} does not answer at ${urls[name]}: start the platform first (bun run start)`);
}

const databases = await serviceDatabases(["identity"]);
if (databases.embedded === "started") {
  await databases.done();
  stop("the services answer but no PostgreSQL runs on PG_PORT: set IDENTITY_DATABASE_URL to the stack's database");
}
const inputFile = process.env.LAB_INPUT_FILE ?? join(ROOT, ".data/locust-input.json");
await mkdir(dirname(inputFile), { recursive: true });
const input = await writeLocustInput(databases.urls.identity, inputFile);
if (!input.students.length || !input.teachers.length) {
  stop("the identity database has no students or no verified teachers to sign in as: run bun run seed");
}

const webPort = args.find((_, index) => ["--web-port", "-P"].includes(args[index - 1] ?? ""));
const webPortInline = args.find((arg) => arg.startsWith("--web-port="))?.split("=")[1];
say(`input: ${inputFile} (${input.students.length} students, ${input.teachers.length} teachers)`);
say(`load on ${urls.identity} … ${urls.notification}`);
if (!args.includes("--headless")) say(`web UI: http://127.0.0.1:${webPort ?? webPortInline ?? DEFAULT_WEB_PORT}`);

// The web UI listens on 127.0.0.1 unless told otherwise (--web-host): Locust's own default is every interface.
const child = Bun.spawn([locust, "-f", LOCUSTFILE, "--web-host", "127.0.0.1", ...args], {
  cwd: ROOT,
  env: {
    ...pythonEnv,
    ...Object.fromEntries(SERVICE_NAMES.map((name) => [serviceUrlVar(name), urls[name]])),
    LAB_INPUT_FILE: inputFile,
  },
  stdio: ["inherit", "inherit", "inherit"],
});
// Ctrl-C reaches Locust from the terminal too; a signal to this process alone is passed on.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
process.exit(await child.exited);
