import { MAX_BODY_BYTES, payloadTooLarge } from "@lab/shared";

/** A request's body as the proxy sends it on: the bytes, their length, and whether they were cut. */
export type ForwardedBody = {
  body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer> | null;
  length: number;
  /** True once more bytes arrived than were declared or than MAX_BODY_BYTES: the service got a cut body. */
  wasCut: () => boolean;
};

/** `body` passed on chunk by chunk, erroring (and cancelling `body`) once more than `maxBytes` went through. */
function counted(body: ReadableStream<Uint8Array>, maxBytes: number, onCut: () => void) {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) {
          onCut();
          controller.error(payloadTooLarge(MAX_BODY_BYTES));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * The services' own body limit (MAX_BODY_BYTES), enforced by the proxy as the body arrives, so a
 * body a service would refuse costs the web app nothing and the web app never holds one whole:
 * - a Content-Length over the limit (or not a number) is a 413 at once, nothing read;
 * - a declared body is streamed to the service with that length, its bytes counted on the way;
 *   more than declared cuts it, and `wasCut()` then tells the caller to answer 413;
 * - a body without a length (chunked) is counted as it arrives and refused with a 413 at the limit.
 *   Under it, it goes on with its length, since a service refuses a body without one (411); so at
 *   most MAX_BODY_BYTES of it is held.
 */
export async function forwardedBody(request: Request): Promise<ForwardedBody> {
  let cut = false;
  const wasCut = () => cut;
  const declared = request.headers.get("content-length");
  if (declared !== null && (!/^\d+$/.test(declared) || Number(declared) > MAX_BODY_BYTES)) {
    throw payloadTooLarge(MAX_BODY_BYTES);
  }
  if (request.body === null) return { body: null, length: 0, wasCut };
  if (declared !== null) {
    const length = Number(declared);
    return { body: counted(request.body, length, () => (cut = true)), length, wasCut };
  }
  try {
    const bytes = await new Response(counted(request.body, MAX_BODY_BYTES, () => (cut = true))).bytes();
    return { body: bytes, length: bytes.byteLength, wasCut };
  } catch (error) {
    if (cut) throw payloadTooLarge(MAX_BODY_BYTES);
    throw error;
  }
}
