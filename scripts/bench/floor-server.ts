/**
 * The floors of `bun run bench:http --floors`: what a cached course cannot cost less than with this
 * Bun, Elysia and Redis client, each answering the same body as the raw server.
 * BENCH_FLOOR=elysia: Elysia with the one route and nothing else (no hook, validation or plugin),
 * from memory. BENCH_FLOOR=redis: a bare Bun.serve that reads the body with one Redis GET per
 * request through the services' own connection (RedisLink: the same ioredis client and options).
 */
import { RedisLink } from "@lab/shared/redis";
import { Elysia } from "elysia";

const body = process.env.BENCH_RAW_BODY;
const port = Number(process.env.PORT);
const floor = process.env.BENCH_FLOOR;
const redisUrl = process.env.REDIS_URL;
if (!body || !Number.isInteger(port) || !(floor === "elysia" || (floor === "redis" && redisUrl))) {
  console.error("floor-server: BENCH_RAW_BODY, PORT and BENCH_FLOOR (elysia, or redis with REDIS_URL) are required");
  process.exit(2);
}
// the content type Elysia gives JSON
const headers = { "content-type": "application/json;charset=utf-8" };
const KEY = "bench:floor:course";

let stop: () => unknown;
if (floor === "elysia") {
  const app = new Elysia().get("/*", () => new Response(body, { headers })).listen({ hostname: "127.0.0.1", port });
  stop = () => app.stop(true);
} else {
  const link = new RedisLink({ url: redisUrl as string, whileDown: "failing", whenBack: "answering" });
  // no offline queue (RedisLink never makes a caller wait), so the first command waits for the connection
  if (link.client.status !== "ready") await new Promise((resolve) => link.client.once("ready", resolve));
  await link.client.set(KEY, body);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    fetch: async () => new Response(await link.client.get(KEY), { headers }),
  });
  stop = () => {
    link.close();
    return server.stop(true);
  };
}
process.on("SIGTERM", () => {
  void stop();
  process.exit(0);
});
