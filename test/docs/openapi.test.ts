import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BEARER_SCHEME, MAX_BODY_BYTES, SERVICE_NAMES, type ServiceName } from "@lab/shared";
import type { AnyElysia } from "elysia";
import { type OpenApiDocument, type OpenApiOperation, SERVICE_APPS } from "../../scripts/lib/apps";
import { freePort } from "../../scripts/lib/postgres";
import { call, type Harness, type RequestOptions, serviceHarness, type TestResponse, tokenFor } from "../support";
import { ROOT } from "./repo-facts";

/**
 * Each service's /swagger/json against what the service really does: every route is called the ways
 * a client gets it wrong (no token, each role, a missing or malformed id, an empty or unparsable
 * body, a bad page, an over-size or chunked body) and in the states that make the rarer answers
 * (a taken email, a paid course, a dependency down); every error status that comes back must be in
 * that route's document with the error body's schema, and its `error` code must be the documented one.
 */

type Route = { method: string; path: string; operation: OpenApiOperation };

const routesOf = (document: OpenApiDocument): Route[] =>
  Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );

/** What the document says an error answer of a route looks like; a problem if it says nothing. */
function documentedError(route: Route, status: number): { problem?: string; code?: unknown } {
  const response = route.operation.responses?.[String(status)];
  const where = `${route.method} ${route.path} ${status}`;
  if (!response) return { problem: `${where}: not documented` };
  const schema = response.content?.["application/json"]?.schema;
  if (!schema) return { problem: `${where}: no JSON body schema` };
  if (!["error", "message"].every((field) => schema.required?.includes(field))) {
    return { problem: `${where}: the schema is not the error body (error, message)` };
  }
  return { code: schema.properties?.error?.const };
}

/** Problems with an answer a route gave: undocumented, or its body is not the documented one. */
function answerProblems(route: Route, answer: TestResponse): string[] {
  if (answer.status < 400) return [];
  const { problem, code } = documentedError(route, answer.status);
  if (problem) return [problem];
  const where = `${route.method} ${route.path} ${answer.status}`;
  if (typeof answer.body?.message !== "string") return [`${where}: answered without a message: ${answer.text}`];
  return answer.body.error === code ? [] : [`${where}: answered error ${answer.body.error}, documented ${code}`];
}

/** Problems of a document on its own: the scheme, error schemas, paging parameters, the probes' schemas. */
function documentProblems(document: OpenApiDocument): string[] {
  const problems: string[] = [];
  const scheme = document.components.securitySchemes?.[BEARER_SCHEME];
  if (scheme?.type !== "http" || scheme.scheme !== "bearer" || scheme.bearerFormat !== "JWT") {
    problems.push(`no bearer JWT scheme named ${BEARER_SCHEME}`);
  }
  for (const route of routesOf(document)) {
    for (const status of Object.keys(route.operation.responses ?? {})) {
      if (Number(status) >= 400) problems.push(...[documentedError(route, Number(status)).problem ?? []].flat());
    }
    for (const parameter of route.operation.parameters ?? []) {
      if (
        ["limit", "offset"].includes(parameter.name) &&
        (parameter.required || parameter.schema.default === undefined)
      ) {
        problems.push(`${route.method} ${route.path}: ${parameter.name} is required or has no default`);
      }
    }
    for (const requirement of route.operation.security ?? []) {
      const undeclared = Object.keys(requirement).filter((name) => !document.components.securitySchemes?.[name]);
      if (undeclared.length > 0) problems.push(`${route.method} ${route.path}: undeclared scheme ${undeclared}`);
    }
  }
  for (const [path, statuses] of [
    ["/healthz", ["200"]],
    ["/readyz", ["200", "503"]],
  ] as const) {
    const responses = document.paths[path]?.get?.responses ?? {};
    for (const status of statuses) {
      if (!responses[status]?.content?.["application/json"]?.schema) problems.push(`GET ${path} ${status}: no schema`);
    }
  }
  return problems;
}

let nextId = 1;
/** A token of each kind of caller; ids no row has, so "the token's user" is missing too. */
const callers = async () => ({
  anonymous: undefined,
  student: await tokenFor({ id: 900_000 + nextId++, role: "student" }),
  "unverified teacher": await tokenFor({ id: 900_000 + nextId++, role: "teacher" }),
  "verified teacher": await tokenFor({ id: 900_000 + nextId++, role: "teacher", is_verified: true }),
  admin: await tokenFor({ id: 900_000 + nextId++, role: "admin", is_verified: true }),
});

/** The ways each route is called: every caller with an empty body, plus the malformed variants. */
async function probe(app: AnyElysia, route: Route): Promise<TestResponse[]> {
  const fill = (value: string) => route.path.replaceAll(/\{[^}]+\}/g, value);
  const path = fill("999999");
  const hasBody = route.operation.requestBody !== undefined;
  const body = hasBody ? {} : undefined;
  const answers: TestResponse[] = [];
  const send = async (target: string, options: RequestOptions) =>
    answers.push(await call(app, route.method, target, options));
  for (const token of Object.values(await callers())) {
    await send(path, { token, body });
    if (route.path.includes("{")) await send(fill("0"), { token, body });
    if (route.operation.parameters?.some((parameter) => parameter.name === "limit")) {
      await send(`${path}?limit=0`, { token });
    }
    if (hasBody) await send(path, { token, body: "{", headers: { "content-type": "application/json" } });
  }
  await send(path, {
    body: "{}",
    headers: { "content-type": "application/json", "content-length": `${MAX_BODY_BYTES + 1}` },
  });
  await send(path, { headers: { "transfer-encoding": "chunked" } });
  return answers;
}

const harnesses = {} as Record<ServiceName, Harness>;
const documents = {} as Record<ServiceName, OpenApiDocument>;
/** Enrollment again, with both of its dependencies at a port nobody listens on. */
let enrollmentAlone: Harness;

const listen = (app: AnyElysia) => {
  app.listen({ port: 0, hostname: "127.0.0.1" });
  return `http://127.0.0.1:${app.server?.port}`;
};
const migrations = (name: ServiceName) => join(ROOT, "services", name, "migrations");

// a long timeout: migrating six databases takes seconds, more on a busy machine
beforeAll(async () => {
  for (const name of ["course", "payment", "notification"] as const) {
    harnesses[name] = await serviceHarness(name, migrations(name), SERVICE_APPS[name]);
  }
  // one refused password is enough for a 429: each costs a slow password hash
  harnesses.identity = await serviceHarness("identity", migrations("identity"), SERVICE_APPS.identity, {
    LOGIN_FAILURES_PER_ACCOUNT: "1",
  });
  harnesses.enrollment = await serviceHarness("enrollment", migrations("enrollment"), SERVICE_APPS.enrollment, {
    COURSE_URL: listen(harnesses.course.app),
    PAYMENT_URL: listen(harnesses.payment.app),
  });
  const nowhere = `http://127.0.0.1:${freePort()}`;
  enrollmentAlone = await serviceHarness("enrollment", migrations("enrollment"), SERVICE_APPS.enrollment, {
    COURSE_URL: nowhere,
    PAYMENT_URL: nowhere,
  });
  for (const name of SERVICE_NAMES) {
    const answer = await harnesses[name].request("GET", "/swagger/json");
    expect(answer.status).toBe(200);
    documents[name] = answer.body;
  }
}, 120_000);

afterAll(async () => {
  await harnesses.course.app.stop(true);
  await harnesses.payment.app.stop(true);
  await Promise.all([...Object.values(harnesses), enrollmentAlone].map((harness) => harness.close()));
});

const routeOf = (name: ServiceName, method: string, path: string) => {
  const route = routesOf(documents[name]).find((candidate) => candidate.method === method && candidate.path === path);
  if (!route) throw new Error(`${name} documents no ${method} ${path}`);
  return route;
};

describe("each service's OpenAPI document", () => {
  for (const name of SERVICE_NAMES) {
    test(`${name}: bearer scheme, error bodies, optional paging, probe schemas`, () => {
      expect(documentProblems(documents[name])).toEqual([]);
    });

    test(`${name}: every status a route answers to a wrong call is documented, with its code`, async () => {
      const problems = new Set<string>();
      for (const route of routesOf(documents[name])) {
        const answers = await probe(harnesses[name].app, route);
        for (const answer of answers) for (const problem of answerProblems(route, answer)) problems.add(problem);
        // a route is secured in the document exactly when it refuses a caller without a token
        const refusesAnonymous = answers[0]?.status === 401;
        const secured = route.operation.security?.some((requirement) => BEARER_SCHEME in requirement) ?? false;
        if (refusesAnonymous !== secured) {
          problems.add(
            `${route.method} ${route.path}: answers ${answers[0]?.status} without a token, secured: ${secured}`,
          );
        }
      }
      expect([...problems]).toEqual([]);
    });
  }

  test("a route's 404 for a missing row and 401 without a token are what the probes meet", async () => {
    // the probes above prove coverage only if they reach these answers at all
    const missing = await harnesses.course.request("GET", "/courses/999999");
    expect(missing.status).toBe(404);
    expect(answerProblems(routeOf("course", "GET", "/courses/{id}"), missing)).toEqual([]);
    const anonymous = await harnesses.payment.request("GET", "/payments/me");
    expect(anonymous.status).toBe(401);
    expect(answerProblems(routeOf("payment", "GET", "/payments/me"), anonymous)).toEqual([]);
  });

  test("the checks fail for a document that leaves out a status or names the wrong code", async () => {
    const route = routeOf("course", "GET", "/courses/{id}");
    const missing = await harnesses.course.request("GET", "/courses/999999");
    const responses = { ...route.operation.responses };
    delete responses["404"];
    expect(answerProblems({ ...route, operation: { ...route.operation, responses } }, missing)).toEqual([
      "GET /courses/{id} 404: not documented",
    ]);
    expect(answerProblems(route, { ...missing, body: { ...missing.body, error: "conflict" } })).toEqual([
      "GET /courses/{id} 404: answered error conflict, documented not_found",
    ]);
    const paths = {
      ...documents.course.paths,
      "/courses": { get: { parameters: [{ name: "limit", in: "query", required: true, schema: {} }] } },
    };
    expect(documentProblems({ ...documents.course, paths } as unknown as OpenApiDocument)).toContain(
      "GET /courses: limit is required or has no default",
    );
  });
});

describe("the rarer answers, in the states that give them", () => {
  const expectDocumented = (name: ServiceName, method: string, path: string, answer: TestResponse, status: number) => {
    expect(answer.status).toBe(status);
    expect(answerProblems(routeOf(name, method, path), answer)).toEqual([]);
  };

  test("identity: a taken email 409, a wrong password 401, then 429", async () => {
    const account = { email: "doc@example.com", password: "correct horse", full_name: "Doc", role: "student" };
    await harnesses.identity.request("POST", "/register", { body: account });
    expectDocumented(
      "identity",
      "POST",
      "/register",
      await harnesses.identity.request("POST", "/register", { body: account }),
      409,
    );
    const wrong = () =>
      harnesses.identity.request("POST", "/login", { body: { email: account.email, password: "wrong password" } });
    expectDocumented("identity", "POST", "/login", await wrong(), 401);
    expectDocumented("identity", "POST", "/login", await wrong(), 429);
  }, 30_000);

  test("enrollment: a paid course without payment 402, an unknown course 404, twice 409, dependencies down 503", async () => {
    const teacher = await tokenFor({ role: "teacher", is_verified: true });
    const course = async (price_cents: number) =>
      (
        await harnesses.course.request("POST", "/courses", {
          token: teacher,
          body: { title: "Doc course", description: "", level: "beginner", price_cents, duration_hours: 1 },
        })
      ).body.id;
    const [paid, free] = [await course(1500), await course(0)];
    const student = await tokenFor({ role: "student" });
    const enroll = (course_id: number, harness = harnesses.enrollment) =>
      harness.request("POST", "/enrollments", { token: student, body: { course_id } });
    expectDocumented("enrollment", "POST", "/enrollments", await enroll(paid), 402);
    expectDocumented("enrollment", "POST", "/enrollments", await enroll(999_999), 404);
    expect((await enroll(free)).status).toBe(201);
    expectDocumented("enrollment", "POST", "/enrollments", await enroll(free), 409);
    expectDocumented("enrollment", "POST", "/enrollments", await enroll(free, enrollmentAlone), 503);
  });

  test("payment: an Idempotency-Key reused with another body is the documented 422", async () => {
    const student = await tokenFor({ role: "student" });
    const pay = (amount_cents: number) =>
      harnesses.payment.request("POST", "/payments", {
        token: student,
        body: { course_id: 1, amount_cents },
        headers: { "idempotency-key": "doc-key" },
      });
    expect((await pay(100)).status).toBe(201);
    expectDocumented("payment", "POST", "/payments", await pay(200), 422);
  });
});
