/**
 * bun --env-file=docker/host.env docker/locust-input.ts [FILE]
 * Writes what locustfile.py reads (LAB_INPUT_FILE: the password, seeded accounts, search words) from
 * the compose stack's seeded identity database, to .data/locust-input.json by default: the file
 * compose.yaml mounts into the Locust containers of the "load" profile.
 */
import { join } from "node:path";
import { writeLocustInput } from "../scripts/experiments/runner";
import { parseCommandLine } from "../scripts/lib/args";

const { positionals, fail } = parseCommandLine({
  name: "locust-input",
  usage: "usage: bun --env-file=docker/host.env docker/locust-input.ts [FILE]",
  help: `Writes Locust's input (seeded accounts, password, search words) from the identity database at
IDENTITY_DATABASE_URL to FILE (default .data/locust-input.json, the file compose.yaml mounts).`,
  options: {},
  positionals: { min: 0, max: 1 },
});
const url = process.env.IDENTITY_DATABASE_URL;
if (!url) fail("IDENTITY_DATABASE_URL is not set: run with bun --env-file=docker/host.env docker/locust-input.ts");
const file = positionals[0] ?? join(import.meta.dir, "../.data/locust-input.json");
try {
  await writeLocustInput(url as string, file);
} catch (error) {
  console.error(
    `locust-input: reading ${new URL(url as string).host}: ${error instanceof Error ? error.message : error}`,
  );
  process.exit(1);
}
console.log(`wrote ${file}`);
