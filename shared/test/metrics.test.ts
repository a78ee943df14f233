import { describe, expect, test } from "bun:test";
import { Histogram } from "prom-client";
import { LATENCY_BUCKETS, RequestDurations } from "../src/metrics";

describe("http_request_duration_seconds", () => {
  test("exports what prom-client's own Histogram exports for the same observations", async () => {
    const ours = new RequestDurations(LATENCY_BUCKETS);
    const theirs = new Histogram({
      name: "http_request_duration_seconds",
      help: ours.help,
      labelNames: ["method", "route", "status"],
      buckets: LATENCY_BUCKETS,
      registers: [],
    });
    // on a bound, between bounds, past the last one, and a second series
    const observations = [0.001, 0.0011, 0.3, 0.5, 12, 0, 0.0075] as const;
    for (const [index, seconds] of observations.entries()) {
      const status = index % 2 ? "404" : "200";
      ours.observe("GET", "/courses/:id", status, seconds);
      theirs.observe({ method: "GET", route: "/courses/:id", status }, seconds);
    }
    // one line per value, labels in name order, so the two exports compare whatever their order
    const lines = (values: { metricName?: string; labels: object; value: number }[]) =>
      values
        .map((value) => {
          const labels = Object.entries(value.labels).sort(([a], [b]) => a.localeCompare(b));
          return `${value.metricName}${JSON.stringify(labels)} ${value.value}`;
        })
        .sort();
    const [mine, reference] = [await ours.get(), await theirs.get()];
    expect({ ...mine, values: lines(mine.values) }).toEqual({
      name: reference.name,
      help: reference.help,
      type: String(reference.type),
      aggregator: reference.aggregator,
      values: lines(reference.values),
    });
  });
});
