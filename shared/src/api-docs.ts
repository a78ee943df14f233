import { openapi } from "@elysiajs/openapi";
import { Elysia, t } from "elysia";
import { errorResponses, notFound } from "./errors";
import { BEARER_SCHEME } from "./security";

/** Swagger UI's files, from the swagger-ui-dist package: the docs page works without reaching a CDN. */
const SWAGGER_UI_FILES = {
  "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
} as const;
const swaggerUiFile = (name: keyof typeof SWAGGER_UI_FILES) =>
  new URL(import.meta.resolve(`swagger-ui-dist/${name}`)).pathname;

/**
 * The OpenAPI document at /swagger/json and Swagger UI at /swagger, with the bearer scheme the `auth`
 * option refers to: **Authorize** takes a token (identity's POST /login) and every route can be tried.
 */
export const apiDocs = (name: string) =>
  new Elysia({ name: "lab.api-docs", seed: name })
    .use(
      openapi({
        path: "/swagger",
        provider: "swagger-ui",
        swagger: {
          cdn: "/swagger/ui/swagger-ui-bundle.js",
          theme: "/swagger/ui/swagger-ui.css",
          persistAuthorization: true,
        },
        documentation: {
          info: { title: `Coursework Lab — ${name} service`, version: "0.1.0" },
          components: {
            securitySchemes: {
              [BEARER_SCHEME]: {
                type: "http",
                scheme: "bearer",
                bearerFormat: "JWT",
                description: "The access_token of identity's POST /login (HS256; claims sub, role, is_verified, exp)",
              },
            },
          },
        },
      }),
    )
    .get(
      "/swagger/ui/:file",
      ({ params, set }) => {
        // own keys only: `in` would take constructor, toString… inherited from Object.prototype
        if (!Object.hasOwn(SWAGGER_UI_FILES, params.file)) throw notFound("File");
        const file = params.file as keyof typeof SWAGGER_UI_FILES;
        set.headers["content-type"] = SWAGGER_UI_FILES[file];
        set.headers["cache-control"] = "public, max-age=86400";
        return Bun.file(swaggerUiFile(file));
      },
      { detail: { hide: true } },
    );

/**
 * Documents, for every route registered after it in the app, errors that do not depend on the route:
 * the service plugin refuses bodies by their length before routing, and a bug is a 500.
 */
export const requestErrors = () =>
  new Elysia({ name: "lab.request-errors" }).guard({
    as: "global",
    response: errorResponses({ 411: true, 413: true, 500: true }),
  });

/** The same for a 503, for every route after it: each reads its database (all but /healthz, /readyz). */
export const databaseErrors = () =>
  new Elysia({ name: "lab.database-errors" }).guard({ as: "global", response: errorResponses({ 503: true }) });

export const Healthz = t.Object({
  status: t.Literal("ok"),
  service: t.String(),
  pid: t.Integer({ description: "Tells apart the processes of a service run with WORKERS>1" }),
});
export const Readyz = t.Object({ status: t.Literal("ready"), service: t.String() });
export const NotReady = t.Object(
  { error: t.Literal("not_ready"), message: t.String() },
  { description: "The database does not answer; Retry-After: 2" },
);
