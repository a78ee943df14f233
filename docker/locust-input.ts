/**
 * bun --env-file=docker/host.env docker/locust-input.ts [FILE]
 * Writes what locustfile.py reads (LAB_INPUT_FILE: the password, seeded accounts, search words) from
 * the compose stack's seeded identity database, to .data/locust-input.json by default: the file
 * compose.yaml mounts into the Locust containers of the "load" profile.
 */
import { join } from "node:path";
import { writeLocustInput } from "../scripts/experiments/runner";

const url = process.env.IDENTITY_DATABASE_URL;
if (!url) {
  console.error("IDENTITY_DATABASE_URL is not set: run with bun --env-file=docker/host.env docker/locust-input.ts");
  process.exit(2);
}
const file = Bun.argv[2] ?? join(import.meta.dir, "../.data/locust-input.json");
await writeLocustInput(url, file);
console.log(`wrote ${file}`);
