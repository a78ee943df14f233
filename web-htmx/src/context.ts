import type { Config, ServiceClient } from "@lab/shared";
import type { Assets } from "./assets";

/** What every web controller is built from (the Lab page's too). */
export type WebContext = { config: Config; services: ServiceClient; assets: Assets };
