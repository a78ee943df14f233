import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { MAX_BODY_BYTES, parseEnv, SERVICE_NAMES, ServiceClient, serviceUrlVar, WEB_PORT } from "@lab/shared";
import type { AnyElysia } from "elysia";
import { notificationApp } from "../../services/notification/src/app";
import { webApp } from "../../web-htmx/src/app";
import { buildAssets } from "../../web-htmx/src/assets";
import { type Harness, serviceHarness, tokenFor } from "../support";

// real PostgreSQL and real sockets on a shared 2-core machine
setDefaultTimeout(30_000);

/**
 * The web app's /api proxy holds the services' body limit itself, while the body streams: a body
 * over MAX_BODY_BYTES never reaches the service and is never held whole by the web app.
 */
let notification: Harness;
let web: AnyElysia;
let webUrl: string;
let token: string;
/** The POSTs that reached the notification service. */
let posts = 0;

beforeAll(async () => {
  notification = await serviceHarness(
    "notification",
    join(import.meta.dir, "../../services/notification/migrations"),
    (context) =>
      notificationApp(context).onRequest(({ request }) => {
        if (request.method === "POST") posts++;
      }),
  );
  notification.app.listen({ hostname: "127.0.0.1", port: 0 });
  const serviceUrl = `http://127.0.0.1:${notification.app.server?.port}`;
  const config = parseEnv(Object.fromEntries(SERVICE_NAMES.map((name) => [serviceUrlVar(name), serviceUrl])), WEB_PORT);
  web = webApp({ config, services: new ServiceClient(config), assets: await buildAssets() });
  web.listen({ hostname: "127.0.0.1", port: 0 });
  webUrl = `http://127.0.0.1:${web.server?.port}`;
  token = await tokenFor({ role: "student" });
});
afterAll(async () => {
  await web.stop(true);
  await notification.app.stop(true);
  await notification.close();
});

const JSON_HEADERS = { "content-type": "application/json" };
const notice = (message: string) => JSON.stringify({ type: "proxy.body", message });

/** A body that never ends, counting the bytes anyone pulled from it. */
function endless() {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      endlessBody.pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  const endlessBody = { stream, pulled: 0 };
  return endlessBody;
}

/** A POST to the proxy's notification route, as the signed-in student. */
const post = (body: BodyInit, headers: Record<string, string> = {}, base = webUrl) =>
  new Request(`${base}/api/notification/notifications`, {
    method: "POST",
    headers: { ...JSON_HEADERS, authorization: `Bearer ${token}`, ...headers },
    body,
  });

async function expectTooLarge(response: Response) {
  expect(response.status).toBe(413);
  expect(await response.json()).toEqual({
    error: "payload_too_large",
    message: `The request body is larger than ${MAX_BODY_BYTES} bytes`,
  });
}

describe("the /api proxy's request bodies", () => {
  test("a normal POST, with its length or chunked, reaches the service (which takes no body without a length)", async () => {
    const withLength = await fetch(post(notice("with a length")));
    expect(withLength.status).toBe(201);
    expect((await withLength.json()).message).toBe("with a length");
    const text = new TextEncoder().encode(notice("chunked"));
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(text.slice(0, 10));
        controller.enqueue(text.slice(10));
        controller.close();
      },
    });
    const sent = await fetch(post(chunked));
    expect(sent.status).toBe(201);
    expect((await sent.json()).message).toBe("chunked");
  });

  test("a Content-Length over the limit is a 413 at once, its body never read nor sent on", async () => {
    const before = posts;
    const body = endless();
    await expectTooLarge(await fetch(post(body.stream, { "content-length": String(100 * 1024 * 1024) })));
    expect(posts).toBe(before);
    expect(body.pulled).toBeLessThan(MAX_BODY_BYTES);
  });

  test("a chunked body that never ends is cut at the limit with a 413, and nothing reaches the service", async () => {
    const before = posts;
    const body = endless();
    await expectTooLarge(await fetch(post(body.stream)));
    expect(posts).toBe(before);
    // the limit, plus what the sockets' buffers took on the way; the whole body would be endless
    expect(body.pulled).toBeLessThan(16 * MAX_BODY_BYTES);
  });

  test("a body longer than its Content-Length is cut where it passes the declared length, with a 413", async () => {
    const body = endless();
    // in-process nothing holds a body to its declared length: the proxy's count does
    const response = await web.handle(post(body.stream, { "content-length": "100" }, "http://localhost"));
    await expectTooLarge(response);
    expect(body.pulled).toBeLessThan(16 * MAX_BODY_BYTES);
  });

  test("the web app keeps serving after refusing bodies", async () => {
    const response = await fetch(post(notice("still here")));
    expect(response.status).toBe(201);
  });
});
