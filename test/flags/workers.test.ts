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

/**
 * A scrape of /metrics once it has caught up with `requests` /healthz requests: a request is
 * recorded just after its response is sent, so the last ones may lag a scrape by a few ms.
 */
async function scrapeCounting(url: string, requests: number) {
  let text = "";
  for (let i = 0; i < 100; i++) {
    text = await (await freshFetch(`${url}/metrics`)).text();
    if (metricSum(text, "http_request_duration_seconds_count", { route: "/healthz" }) >= requests) break;
    await Bun.sleep(20);
  }
  return text;
}

async function healthPid(url: string) {
  const response = await freshFetch(`${url}/healthz`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { pid: number }).pid;
}

describe("WORKERS flag", () => {
  test("WORKERS=2: two processes answer on one port, and /metrics of either counts the requests of both", async () => {
    const service = await spawnService("course", { DATABASE_URL: await freshDatabase("course"), WORKERS: "2" });
    try {
      // The kernel spreads new connections over the workers; keep opening them until both have answered
      // (readiness means one worker listens; the other may still be starting).
      const served = new Map<number, number>();
      let requests = 0;
      const deadline = Date.now() + 20_000;
      while (served.size < 2 && Date.now() < deadline) {
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
        const text = await scrapeCounting(service.url, requests);
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
      const text = await scrapeCounting(service.url, 10);
      expect(metricSum(text, "lab_processes")).toBe(1);
      expect(metricSum(text, "http_request_duration_seconds_count", { route: "/healthz" })).toBe(10);
      expect(await stopService(service)).toBe(0);
    } finally {
      service.process.kill("SIGKILL");
    }
  });
});
