import { parseSamples, type Sample } from "@lab/shared/exposition";
import { LATENCY_BUCKETS } from "@lab/shared/metrics";
import type { ServicePoint, Timeline } from "../results/format";

/**
 * Each service's /metrics read once a second while the load runs: timeline.json's `metrics`, whose
 * counters analysis/resources.ts reads over each step's measured window.
 */

const sum = (
  samples: readonly Sample[],
  name: string,
  match: (labels: Record<string, string>) => boolean = () => true,
) => samples.filter((sample) => sample.name === name && match(sample.labels)).reduce((total, s) => total + s.value, 0);

export function servicePoint(text: string): ServicePoint {
  const samples = parseSamples(text);
  const responses = (status: string) =>
    sum(samples, "http_request_duration_seconds_count", (labels) => labels.status?.startsWith(status) ?? false);
  return {
    pool_size: sum(samples, "db_pool_size"),
    pool_in_use: sum(samples, "db_pool_in_use"),
    pool_waiting: sum(samples, "db_pool_waiting"),
    pool_exhausted_total: sum(samples, "db_pool_exhausted_total"),
    responses_total: sum(samples, "http_request_duration_seconds_count"),
    responses_503_total: sum(samples, "http_request_duration_seconds_count", (labels) => labels.status === "503"),
    eventloop_lag_p99_s: sum(samples, "nodejs_eventloop_lag_p99_seconds"),
    cache_hit_total: sum(samples, "cache_requests_total", (labels) => labels.result === "hit"),
    cache_miss_total: sum(samples, "cache_requests_total", (labels) => labels.result === "miss"),
    db_queries_total: sum(samples, "db_query_duration_seconds_count"),
    pool_waits_total: sum(samples, "db_pool_waits_total"),
    pool_wait_seconds_total: sum(samples, "db_pool_wait_seconds_total"),
    responses_4xx_total: responses("4"),
    responses_5xx_total: responses("5"),
    latency_buckets: LATENCY_BUCKETS.map((bound) =>
      sum(samples, "http_request_duration_seconds_bucket", (labels) => Number(labels.le) === bound),
    ),
  };
}

/** Scrapes each service's /metrics once a second until stopped (CPU comes from the run's CpuSampler). */
export class MetricsSampler {
  private readonly metrics: Timeline["metrics"] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;

  constructor(
    private readonly serviceUrls: Record<string, string>,
    private readonly intervalMs = 1000,
  ) {}

  start() {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  async stop(): Promise<Timeline["metrics"]> {
    clearInterval(this.timer);
    while (this.busy) await Bun.sleep(20);
    await this.tick();
    return this.metrics;
  }

  private async tick() {
    if (this.busy) return;
    this.busy = true;
    try {
      const at = Date.now() / 1000;
      const entries = await Promise.all(
        Object.entries(this.serviceUrls).map(async ([name, url]) => {
          try {
            const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
            return [name, servicePoint(await response.text())] as const;
          } catch {
            return null; // a scrape that timed out under load: that second has no point for the service
          }
        }),
      );
      this.metrics.push({ at, services: Object.fromEntries(entries.filter((entry) => entry !== null)) });
    } finally {
      this.busy = false;
    }
  }
}
