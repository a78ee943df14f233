import { join } from "node:path";
import {
  parseEnv,
  SERVICE_NAMES,
  ServiceClient,
  type ServiceContext,
  type ServiceName,
  serviceUrlVar,
  WEB_PORT,
} from "@lab/shared";
import { SERVICE_APPS } from "../../scripts/lib/apps";
import { UserService } from "../../services/identity/src/users/service";
import { webApp } from "../../web-htmx/src/app";
import { buildAssets } from "../../web-htmx/src/assets";
import { type Harness, serviceHarness } from "../support";

export { http } from "../support";

export type Platform = {
  harness: Record<ServiceName, Harness>;
  urls: Record<ServiceName, string>;
  /** Creates a user in identity's database directly (an admin cannot register) and logs in over HTTP. */
  user: (role: "student" | "teacher" | "admin", options?: { verified?: boolean }) => Promise<PlatformUser>;
  close: () => Promise<void>;
};
export type PlatformUser = { id: number; email: string; password: string; token: string };

/** Told of every request a service receives, before the service handles it. */
export type RequestObserver = (service: ServiceName, request: Request) => void;

/**
 * The five real service apps, each on a fresh database of the test PostgreSQL and listening on a
 * free port of 127.0.0.1; enrollment calls the real course and payment apps over HTTP.
 */
export async function startPlatform(env: Record<string, string> = {}, observe?: RequestObserver): Promise<Platform> {
  const harness = {} as Record<ServiceName, Harness>;
  const urls = {} as Record<ServiceName, string>;
  const migrations = (name: ServiceName) => join(import.meta.dir, "../../services", name, "migrations");
  const open = async (name: ServiceName, extra: Record<string, string> = {}) => {
    const build = (context: ServiceContext) =>
      SERVICE_APPS[name](context).onRequest(({ request }) => observe?.(name, request));
    const started = await serviceHarness(name, migrations(name), build, { ...env, ...extra });
    started.app.listen({ hostname: "127.0.0.1", port: 0 });
    harness[name] = started;
    urls[name] = `http://127.0.0.1:${started.app.server?.port}`;
  };
  await Promise.all((["identity", "course", "payment", "notification"] as const).map((name) => open(name)));
  await open("enrollment", { COURSE_URL: urls.course, PAYMENT_URL: urls.payment });

  let users = 0;
  const user: Platform["user"] = async (role, options = {}) => {
    const email = `${role}${++users}-${crypto.randomUUID().slice(0, 8)}@platform.test`;
    const password = `password of ${email}`;
    const identity = harness.identity;
    const service = new UserService(identity.db, { secret: identity.context.config.JWT_SECRET, ttlSeconds: 3600 });
    const created = await service.create({
      email,
      password,
      full_name: `${role} ${users}`,
      role,
      is_verified: options.verified ?? false,
    });
    const login = await fetch(`${urls.identity}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    if (login.status !== 200) throw new Error(`login of ${email} answered ${login.status}`);
    const { access_token } = (await login.json()) as { access_token: string };
    return { id: created.id, email, password, token: access_token };
  };

  const close = async () => {
    await Promise.all(Object.values(harness).map((h) => h.app.stop(true)));
    await Promise.all(Object.values(harness).map((h) => h.close()));
  };
  return { harness, urls, user, close };
}

/** The web app over the platform's services, listening on a free port; `env` adds settings (TRUSTED_PROXIES…). */
export async function startWeb(platform: Platform, env: Record<string, string> = {}) {
  const config = parseEnv(
    { ...env, ...Object.fromEntries(SERVICE_NAMES.map((name) => [serviceUrlVar(name), platform.urls[name]])) },
    WEB_PORT,
  );
  const app = webApp({ config, services: new ServiceClient(config), assets: await buildAssets() });
  app.listen({ hostname: "127.0.0.1", port: 0 });
  return { app, url: `http://127.0.0.1:${app.server?.port}`, stop: () => app.stop(true) };
}
