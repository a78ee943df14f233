import { join } from "node:path";
import { runService } from "@lab/shared";
import { courseApp } from "./app";
import { matchSearchIndex } from "./search-index";

await runService({
  name: "course",
  migrations: join(import.meta.dir, "../migrations"),
  prepare: ({ db, config }) => matchSearchIndex(db, config.SEARCH_INDEX),
  app: courseApp,
});
