import { join } from "node:path";
import { runService } from "@lab/shared";
import { notificationApp } from "./app";

await runService({ name: "notification", migrations: join(import.meta.dir, "../migrations"), app: notificationApp });
