import { join } from "node:path";
import { runService } from "@lab/shared";
import { paymentApp } from "./app";

await runService({ name: "payment", migrations: join(import.meta.dir, "../migrations"), app: paymentApp });
