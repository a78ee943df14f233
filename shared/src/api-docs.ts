import { openapi } from "@elysiajs/openapi";
import { Elysia, t } from "elysia";
import { errorResponses } from "./errors";
import { BEARER_SCHEME } from "./security";

/**
 * The OpenAPI document at /swagger (JSON at /swagger/json), with the bearer scheme the `auth` option
 * refers to, so the docs UI can authorize and try every route signed in (token: POST /login of identity).
 */
export const apiDocs = (name: string) =>
  openapi({
    path: "/swagger",
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
  });

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
