import { join } from "node:path";
import { SERVICE_NAMES, type ServiceName } from "@lab/shared";
import { type OpenApiDocument, openApiDocument } from "./lib/apps";
import { parseCommandLine } from "./lib/args";
import { CONTRACT_FILE, renderGenerated, withGenerated } from "./lib/contract";

parseCommandLine({
  name: "docs:contract",
  usage: "usage: bun run docs:contract",
  help: `Rewrites the generated part of ${CONTRACT_FILE} (ports, error statuses, endpoints) from each
service's OpenAPI document, built in-process: nothing needs to run. The hand-written parts around it
(conventions, flags, token claims) are kept; test/docs/contract.test.ts checks both.`,
  options: {},
});

const documents = {} as Record<ServiceName, OpenApiDocument>;
for (const name of SERVICE_NAMES) documents[name] = await openApiDocument(name);
const file = join(import.meta.dir, "..", CONTRACT_FILE);
const before = await Bun.file(file).text();
const after = withGenerated(before, renderGenerated(documents));
await Bun.write(file, after);
console.log(`${CONTRACT_FILE}: ${after === before ? "unchanged" : "rewritten"}`);
