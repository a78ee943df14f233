import { ConfigError, configureLog, log, parseEnv, WEB_PORT } from "@lab/shared";
import { webApp } from "./app";
import { buildAssets } from "./assets";
import { ServiceClient } from "./services";

let config: ReturnType<typeof parseEnv>;
try {
  config = parseEnv(process.env, WEB_PORT);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`web: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
configureLog("web", config.LOG_LEVEL);

const assets = await buildAssets();
const app = webApp({ config, services: new ServiceClient(config), assets });
app.listen({ port: config.PORT, hostname: config.HOST });
log("info", "listening", { url: `http://${config.HOST}:${config.PORT}`, css: assets.css.path });

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log("info", "stopping", { signal });
  await app.stop(false);
  process.exit(0);
};
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
