import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { MAX_BODY_BYTES } from "@lab/shared";
import { notificationApp } from "../../services/notification/src/app";
import { type Harness, serviceHarness, tokenFor } from "../support";

// real PostgreSQL, real processes and password hashing on a shared 2-core machine
setDefaultTimeout(30_000);

/** Request bodies over MAX_BODY_BYTES are refused unread with the usual JSON error, in-process and over HTTP. */
let api: Harness;
let url: string;
let token: string;
beforeAll(async () => {
  api = await serviceHarness(
    "notification",
    join(import.meta.dir, "../../services/notification/migrations"),
    notificationApp,
  );
  api.app.listen({ hostname: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${api.app.server?.port}`;
  token = await tokenFor({ role: "student" });
});
afterAll(async () => {
  await api.app.stop(true);
  await api.close();
});

const bodyOf = (bytes: number) => JSON.stringify({ type: "big.body", message: "x".repeat(bytes) });
const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  fetch(`${url}/notifications`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body,
  });

describe("request body size", () => {
  test("in-process, one byte over the limit is a 413 JSON error", async () => {
    const response = await api.request("POST", "/notifications", { token, body: bodyOf(MAX_BODY_BYTES) });
    expect(response.status).toBe(413);
    expect(response.body).toEqual({
      error: "payload_too_large",
      message: `The request body is larger than ${MAX_BODY_BYTES} bytes`,
    });
  });

  test("over HTTP, 2 MiB and 40 MiB bodies are a 413 JSON error, and the server keeps serving", async () => {
    for (const size of [2 * MAX_BODY_BYTES, 40 * MAX_BODY_BYTES]) {
      const response = await post(bodyOf(size));
      expect(response.status).toBe(413);
      expect(response.headers.get("content-type")).toContain("application/json");
      expect((await response.json()).error).toBe("payload_too_large");
    }
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
  });

  test("an HTMX caller gets the 413 as an HTML fragment", async () => {
    const response = await post(bodyOf(2 * MAX_BODY_BYTES), { "hx-request": "true" });
    expect(response.status).toBe(413);
    expect(await response.text()).toContain('data-error="payload_too_large"');
  });

  test("a body just under the limit is read and validated as usual (422 for a message over 2000 characters)", async () => {
    const response = await post(bodyOf(MAX_BODY_BYTES - 100));
    expect(response.status).toBe(422);
  });

  test("a chunked body without Content-Length is a 411, whatever its size", async () => {
    const chunked = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(text));
          controller.close();
        },
      });
    for (const body of [JSON.stringify({ type: "small", message: "hi" }), bodyOf(2 * MAX_BODY_BYTES)]) {
      const response = await post(chunked(body));
      expect(response.status).toBe(411);
      expect((await response.json()).error).toBe("length_required");
    }
  });
});
