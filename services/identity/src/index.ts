import { join } from "node:path";
import { runService } from "@lab/shared";
import { identityApp } from "./app";

await runService({ name: "identity", migrations: join(import.meta.dir, "../migrations"), app: identityApp });
