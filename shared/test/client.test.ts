import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { freePort } from "../../scripts/lib/postgres";
import { answerError, dataOf, ServiceClient } from "../src/client";
import { parseEnv } from "../src/config";
import { HttpError } from "../src/errors";

/** How long the slow routes keep a caller waiting: far above the timeouts used here. */
const STALL_MS = 3_000;

/** A small real service whose routes answer the ways a dependency can; its type types the calls. */
const dependency = new Elysia()
  .get(
    "/echo/:id",
    ({ params, headers }) => ({
      id: params.id,
      authorization: headers.authorization ?? null,
      request_id: headers["x-request-id"] ?? null,
    }),
    { params: t.Object({ id: t.Integer() }) },
  )
  .get("/titled", ({ query }) => ({ title: query.title }), { query: t.Object({ title: t.String() }) })
  .get("/missing", ({ status }) => status(404, { error: "not_found", message: "Course not found" }))
  .get("/refused", ({ status }) => status(401, { error: "unauthorized", message: "Invalid token" }))
  .get("/broken", ({ status }) => status(500, { error: "internal", message: "boom" }))
  .get("/fragment", ({ headers }) =>
    headers["hx-request"] === "true"
      ? new Response("<p>fragment</p>", { headers: { "content-type": "text/html; charset=utf-8" } })
      : { as: "json" },
  )
  .get("/slow", async () => {
    await Bun.sleep(STALL_MS);
    return {};
  })
  .get(
    "/stalled-body",
    () =>
      new Response(
        new ReadableStream({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode('{"partial":'));
            await Bun.sleep(STALL_MS);
            controller.close();
          },
        }),
        { headers: { "content-type": "application/json" } },
      ),
  );
type Dependency = typeof dependency;

let base: string;
beforeAll(() => {
  dependency.listen({ port: 0, hostname: "127.0.0.1" });
  base = `http://127.0.0.1:${dependency.server?.port}/`;
});
afterAll(() => dependency.stop(true));

/** A client whose course service is `url` (the others are never called here). */
const clientTo = (url: string, timeoutMs = 1000) => new ServiceClient(parseEnv({ COURSE_URL: url }, 3000), timeoutMs);

const failure = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
};

describe("ServiceClient", () => {
  test("typed data, with the caller's token and request id sent along", async () => {
    const answer = await clientTo(base)
      .api<Dependency>("course", { token: "abc", requestId: "req-1" })
      .echo({ id: 7 })
      .get();
    const data = dataOf("course", answer);
    expect(data).toEqual({ id: 7, authorization: "Bearer abc", request_id: "req-1" });
  });

  test("a text that looks like a date stays text", async () => {
    const answer = await clientTo(base)
      .api<Dependency>("course")
      .titled.get({ query: { title: "2024-05-01" } });
    expect(dataOf("course", answer)).toEqual({ title: "2024-05-01" });
  });

  test("a 4xx keeps the other service's status, code and words; dataOf throws it", async () => {
    const api = clientTo(base).api<Dependency>("course");
    expect(answerError("course", await api.missing.get())).toMatchObject({
      status: 404,
      code: "not_found",
      message: "Course not found",
    });
    const refused = await api.refused.get();
    expect(() => dataOf("course", refused)).toThrow(new HttpError(401, "unauthorized", "Invalid token"));
  });

  test("a 5xx is a 503 naming the service in words", async () => {
    const answer = await clientTo(base).api<Dependency>("course").broken.get();
    expect(answerError("course", answer)).toMatchObject({
      status: 503,
      message: "The course catalog service could not do this right now. Please try again.",
    });
  });

  test("a service that is down is the same 503 for a typed call, a fragment and the proxy's send", async () => {
    const down = clientTo(`http://127.0.0.1:${freePort()}`);
    const message = "The course catalog service is not answering right now. Please try again in a moment.";
    const typed = answerError("course", await down.api<Dependency>("course").missing.get());
    expect(typed).toMatchObject({ status: 503, code: "unavailable", message });
    expect(typed.headers["retry-after"]).toBe("1");
    expect(await failure(down.fragment("course", "/fragment"))).toMatchObject({ status: 503, message });
    expect(await failure(down.send("course", "/fragment"))).toMatchObject({ status: 503, message });
  });

  test("headers or a body slower than the timeout are a 503 naming the limit, not a hang", async () => {
    const client = clientTo(base, 150);
    const message = "The course catalog service did not answer within 150 ms. Please try again in a moment.";
    const started = performance.now();
    expect(answerError("course", await client.api<Dependency>("course").slow.get())).toMatchObject({
      status: 503,
      message,
    });
    expect(await failure(client.send("course", "/stalled-body"))).toMatchObject({ status: 503, message });
    // both together end before either route would have
    expect(performance.now() - started).toBeLessThan(STALL_MS);
  });

  test("a fragment is the HTML the service answers HTMX with, whatever its status", async () => {
    const client = clientTo(base);
    expect(await client.fragment("course", "/fragment")).toEqual({ status: 200, ok: true, html: "<p>fragment</p>" });
    const missing = await client.fragment("course", "/missing");
    expect(missing.status).toBe(404);
  });
});
