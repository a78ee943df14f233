import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runCommand } from "../scripts/lib/process";
import { needs } from "./tools";

const ROOT = join(import.meta.dir, "..");

const benchHttp = (...args: string[]) => runCommand(["bun", "scripts/bench-http.ts", ...args], { cwd: ROOT });

const TARGETS = [
  "raw Bun.serve, from memory",
  "course GET /courses/:id, Redis",
  "course GET /courses/:id, PostgreSQL",
  "floor: Elysia alone, from memory",
  "floor: Bun.serve + one Redis GET",
];
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("bun run bench:http", () => {
  needs(["wrk", "redis-server"], "test/bench-http.test.ts: a one-second run").test(
    "a one-second run prints each target's req/s and CPU per request, each with its ratio to the raw ceiling",
    async () => {
      const run = await benchHttp(
        "--duration",
        "1",
        "--warmup",
        "0",
        "--repeat",
        "1",
        "--connections",
        "8",
        "--floors",
      );
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
      const summary = run.stdout.slice(run.stdout.indexOf("ratio to raw"));
      for (const name of TARGETS) {
        // name, req/s, its ratio, µs of CPU per request, the raw server's CPU over its own
        const line = new RegExp(
          `^${literal(name)}\\s+([\\d,]+)\\s+(\\d+\\.\\d\\d)\\s+(\\d+\\.\\d)\\s+(\\d+\\.\\d\\d)$`,
          "m",
        ).exec(summary);
        expect({ name, line: line?.[0] ?? null }).toEqual({ name, line: expect.any(String) });
        expect(Number(line?.[1]?.replaceAll(",", ""))).toBeGreaterThan(0);
        expect(Number(line?.[3])).toBeGreaterThan(0);
      }
      expect(summary).toMatch(/^raw Bun\.serve, from memory\s+[\d,]+\s+1\.00\s+[\d.]+\s+1\.00$/m);
    },
    120_000,
  );

  test("a bad flag or value is one line and the usage, exit code 2, and nothing started", async () => {
    for (const args of [["--bogus"], ["--duration", "0"], ["--repeat", "two"], ["--log-level", "loud"]]) {
      const run = await benchHttp(...args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toContain("usage: bun run bench:http");
      expect(run.stdout).toBe("");
    }
  });
});
