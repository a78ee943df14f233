import { configOrExit, configureLog, log, parseEnv, ServiceClient, stopOnSignal, WEB_PORT } from "@lab/shared";
import { webApp } from "./app";
import { buildAssets } from "./assets";

const config = configOrExit("web", () => parseEnv(process.env, WEB_PORT));
configureLog("web", config.LOG_LEVEL, config.LOG_FORMAT);

const assets = await buildAssets();
const app = webApp({ config, services: new ServiceClient(config), assets });
app.listen({ port: config.PORT, hostname: config.HOST });
log("info", "listening", { url: `http://${config.HOST}:${config.PORT}`, css: assets.css.path });
stopOnSignal(() => app.stop(false));
