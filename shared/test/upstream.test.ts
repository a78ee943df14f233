import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort } from "../../scripts/lib/postgres";
import { HttpError } from "../src/errors";
import { Upstream } from "../src/upstream";

/** A small real HTTP server whose routes answer the ways a dependency can. */
let server: ReturnType<typeof Bun.serve>;
let base: string;
beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    routes: {
      "/echo": (request) =>
        Response.json({
          authorization: request.headers.get("authorization"),
          request_id: request.headers.get("x-request-id"),
        }),
      "/missing": () => Response.json({ error: "not_found", message: "Course not found" }, { status: 404 }),
      "/broken": () => Response.json({ error: "internal", message: "boom" }, { status: 500 }),
      "/refused": () => Response.json({ error: "unauthorized", message: "Invalid token" }, { status: 401 }),
      "/not-json": () => new Response("<html>", { status: 200 }),
      "/slow": async () => {
        await Bun.sleep(3_000);
        return Response.json({});
      },
    },
  });
  base = `http://127.0.0.1:${server.port}/`;
});
afterAll(() => server.stop(true));

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: HttpError) => error,
  );

describe("Upstream", () => {
  test("returns the JSON body and forwards the caller's token and request id", async () => {
    const body = await new Upstream("course", base, 1000).get("/echo", { token: "abc", requestId: "req-1" });
    expect(body).toEqual({ authorization: "Bearer abc", request_id: "req-1" });
  });

  test("a 404 passes through as a 404 with the other service's message", async () => {
    const error = await failure(new Upstream("course", base, 1000).get("/missing"));
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 404, code: "not_found", message: "Course not found" });
  });

  test("a service that is down is a 503 naming it", async () => {
    const error = await failure(new Upstream("payment", `http://127.0.0.1:${freePort()}`, 1000).get("/x"));
    expect(error).toMatchObject({ status: 503, message: "The payment service is unreachable; try again shortly" });
    expect(error?.headers["retry-after"]).toBe("1");
  });

  test("a service slower than the timeout is a 503 naming it and the limit", async () => {
    const error = await failure(new Upstream("payment", base, 150).get("/slow"));
    expect(error).toMatchObject({ status: 503, message: "The payment service did not answer within 150 ms" });
  });

  test("a 5xx is a 503; any other refusal or a body that is not JSON is a 502", async () => {
    const upstream = new Upstream("course", base, 1000);
    expect(await failure(upstream.get("/broken"))).toMatchObject({
      status: 503,
      message: "The course service failed: boom",
    });
    expect(await failure(upstream.get("/refused"))).toMatchObject({
      status: 502,
      message: "The course service refused the request (401): Invalid token",
    });
    expect(await failure(upstream.get("/not-json"))).toMatchObject({ status: 502, code: "bad_gateway" });
  });
});
