/**
 * The ceiling of `bun run bench:http`: a bare Bun.serve that answers every request with the body it
 * was given (a course's JSON as the course service answers it), from memory. What the service does
 * on top of this — routing, hooks, validation, metrics, the cache round trip — is the gap measured.
 */
const body = process.env.BENCH_RAW_BODY;
const port = Number(process.env.PORT);
if (!body || !Number.isInteger(port)) {
  console.error("raw-server: BENCH_RAW_BODY and PORT are required");
  process.exit(2);
}
// the content type Elysia gives JSON
const headers = { "content-type": "application/json;charset=utf-8" };
const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: () => new Response(body, { headers }) });
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
