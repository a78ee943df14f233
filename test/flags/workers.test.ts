import { describe, expect, test } from "bun:test";
import { freshDatabase } from "../support";
import { freshFetch, metricSum, spawnService, stopService } from "./service-process";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function healthPid(url: string) {
  const response = await freshFetch(`${url}/healthz`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { pid: number }).pid;
}

describe("WORKERS flag", () => {
  test("WORKERS=2: two processes answer on one port, and /metrics of either counts the requests of both", async () => {
    const service = await spawnService("course", { DATABASE_URL: await freshDatabase("course"), WORKERS: "2" });
    try {
      // The kernel spreads new connections over the workers; keep opening them until both have answered.
      const served = new Map<number, number>();
      let requests = 0;
      while (served.size < 2 && requests < 400) {
        const pid = await healthPid(service.url);
        served.set(pid, (served.get(pid) ?? 0) + 1);
        requests++;
      }
      for (let i = 0; i < 40; i++) {
        const pid = await healthPid(service.url);
        served.set(pid, (served.get(pid) ?? 0) + 1);
        requests++;
      }
      expect(served.size).toBe(2);
      expect(served.has(service.process.pid)).toBe(false);

      // Scrapes land on either worker; each must report the whole service.
      for (let i = 0; i < 6; i++) {
        const text = await (await freshFetch(`${service.url}/metrics`)).text();
        expect(metricSum(text, "lab_processes")).toBe(2);
        expect(metricSum(text, "http_request_duration_seconds_count", { route: "/healthz" })).toBe(requests);
        expect(metricSum(text, "lab_flags", { WORKERS: "2" })).toBe(1);
        expect(metricSum(text, "db_pool_size")).toBe(2 * 5);
      }

      expect(await stopService(service)).toBe(0);
      for (const pid of served.keys()) expect(alive(pid)).toBe(false);
    } finally {
      service.process.kill("SIGKILL");
    }
  });

  test("WORKERS=1: the launched process itself serves, alone", async () => {
    const service = await spawnService("course", { DATABASE_URL: await freshDatabase("course"), WORKERS: "1" });
    try {
      const pids = new Set<number>();
      for (let i = 0; i < 10; i++) pids.add(await healthPid(service.url));
      expect([...pids]).toEqual([service.process.pid]);
      const text = await (await freshFetch(`${service.url}/metrics`)).text();
      expect(metricSum(text, "lab_processes")).toBe(1);
      expect(metricSum(text, "http_request_duration_seconds_count", { route: "/healthz" })).toBe(10);
      expect(await stopService(service)).toBe(0);
    } finally {
      service.process.kill("SIGKILL");
    }
  });
});
