import { join } from "node:path";
import { runService } from "@lab/shared";
import { enrollmentApp } from "./app";

await runService({ name: "enrollment", migrations: join(import.meta.dir, "../migrations"), app: enrollmentApp });
