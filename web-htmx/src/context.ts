import type { BlockList } from "node:net";
import {
  type CallFor,
  type Config,
  clientAddress,
  type PeerSource,
  parseTrustedProxies,
  type ServiceClient,
} from "@lab/shared";
import type { Assets } from "./assets";

/** What every web controller is built from (the Lab page's too). */
export type WebContext = { config: Config; services: ServiceClient; assets: Assets };

/** TRUSTED_PROXIES parsed once per configuration, not per request. */
const proxiesOf = new WeakMap<Config, BlockList>();

/**
 * A call made for the browser that sent `request`: its address goes to the service signed
 * (`CallFor.client`), so identity's login throttle counts each browser, not the web app. The address
 * is the socket's peer, or when that peer is in TRUSTED_PROXIES (an ingress the operator runs in
 * front of the web app) the one that ingress appended; a browser's own X-Forwarded-For is never
 * believed otherwise.
 */
export const forBrowser = (config: Config, request: Request, server: PeerSource): CallFor => {
  let proxies = proxiesOf.get(config);
  if (!proxies) {
    proxies = parseTrustedProxies(config.TRUSTED_PROXIES);
    proxiesOf.set(config, proxies);
  }
  return { client: clientAddress(request, server, proxies) };
};
