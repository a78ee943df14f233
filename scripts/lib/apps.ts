import { activeFlags, Db, Metrics, parseEnv, SERVICES, type ServiceContext, type ServiceName } from "@lab/shared";
import { openCache } from "@lab/shared/cache";
import type { AnyElysia } from "elysia";
import { courseApp } from "../../services/course/src/app";
import { enrollmentApp } from "../../services/enrollment/src/app";
import { identityApp } from "../../services/identity/src/app";
import { notificationApp } from "../../services/notification/src/app";
import { paymentApp } from "../../services/payment/src/app";

/** Each service's app builder, for what needs the apps in-process: tests and the API contract. */
export const SERVICE_APPS: Record<ServiceName, (context: ServiceContext) => AnyElysia> = {
  identity: identityApp,
  course: courseApp,
  enrollment: enrollmentApp,
  payment: paymentApp,
  notification: notificationApp,
};

/** The parts of an OpenAPI 3.1 document the contract and its tests read. */
export type OpenApiSchema = {
  type?: string;
  const?: unknown;
  default?: unknown;
  description?: string;
  required?: string[];
  properties?: Record<string, OpenApiSchema>;
};
export type OpenApiParameter = {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  schema: OpenApiSchema;
};
export type OpenApiOperation = {
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: OpenApiParameter[];
  requestBody?: { content: Record<string, { schema: OpenApiSchema }> };
  responses?: Record<string, { description: string; content?: Record<string, { schema: OpenApiSchema }> }>;
};
export type OpenApiDocument = {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { securitySchemes?: Record<string, Record<string, string>> };
};

/**
 * A service's OpenAPI document as its /swagger/json serves it, from the app built in-process with the
 * default configuration. Nothing is started: bun:sql connects on a first query, and listing the
 * routes runs none, so the database URL only has to be well-formed.
 */
export async function openApiDocument(name: ServiceName): Promise<OpenApiDocument> {
  const config = parseEnv({ DATABASE_URL: "postgres://127.0.0.1/unused", CACHE: "off" }, SERVICES[name].port);
  const db = new Db({ url: config.DATABASE_URL as string, max: 1, acquireTimeoutMs: 1 });
  const metrics = new Metrics(name, activeFlags(config));
  const app = SERVICE_APPS[name]({ name, config, db, metrics, cache: openCache(config, name) });
  const answer = await app.handle(new Request("http://localhost/swagger/json"));
  await db.close();
  return (await answer.json()) as OpenApiDocument;
}
