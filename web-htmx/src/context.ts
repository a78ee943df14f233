import { type CallFor, type Config, clientAddress, type PeerSource, type ServiceClient } from "@lab/shared";
import type { Assets } from "./assets";

/** What every web controller is built from (the Lab page's too). */
export type WebContext = { config: Config; services: ServiceClient; assets: Assets };

/**
 * A call made for the browser that sent `request`: its address goes to the service as
 * X-Forwarded-For, so identity's login throttle counts each browser, not the web app. The address is
 * the socket's peer, or with TRUST_PROXY=1 (an ingress the operator controls in front of the web app)
 * the one that ingress appended; a browser's own X-Forwarded-For is never believed otherwise.
 */
export const forBrowser = (config: Config, request: Request, server: PeerSource): CallFor => ({
  client: clientAddress(request, server, config.TRUST_PROXY === "1"),
});
