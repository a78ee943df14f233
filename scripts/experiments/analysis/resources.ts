import type { ResourceUse, ServicePoint, ServiceWindow, Timeline, WindowUse } from "../results/format";

/**
 * The USE side of a rate run: every second, the CPU ticks of each process group and each service's
 * pool, 503, event-loop and cache figures from its /metrics, with wall-clock times, so a step's
 * figures are read over its measured window only (warm-up, spawn and settle left out).
 */

/** The figures every timeline has (the optional ones came later). */
type CounterField = { [K in keyof ServicePoint]-?: ServicePoint[K] extends number ? K : never }[keyof ServicePoint];

/** A counter's value at time `at`, interpolated between the samples around it (null outside them). */
export function valueAt(points: readonly { at: number; value: number }[], at: number): number | null {
  if (!points.length || at < points[0]!.at || at > points.at(-1)!.at) return null;
  for (let index = 1; index < points.length; index++) {
    const before = points[index - 1]!;
    const after = points[index]!;
    if (at <= after.at) {
      const span = after.at - before.at;
      return span <= 0 ? after.value : before.value + ((after.value - before.value) * (at - before.at)) / span;
    }
  }
  return points.at(-1)!.value;
}

/** A counter's growth from `from` to `to` (null when the samples do not cover the window). */
export function deltaOver(points: readonly { at: number; value: number }[], from: number, to: number): number | null {
  const start = valueAt(points, from);
  const end = valueAt(points, to);
  return start === null || end === null ? null : end - start;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The USE table of one measured window: CPU per group, pools, 503s, event-loop lag and cache, window-only. */
export function useOverWindow(timeline: Timeline, from: number, to: number): WindowUse {
  const seconds = to - from;
  const cpu_cores: Record<string, number> = {};
  for (const group of Object.keys(timeline.cpu[0]?.ticks ?? {})) {
    const points = timeline.cpu.map((sample) => ({ at: sample.at, value: sample.ticks[group] ?? 0 }));
    const ticks = deltaOver(points, from, to);
    cpu_cores[group] = ticks === null ? 0 : round(ticks / timeline.clock_ticks / seconds);
  }
  const machine_cores = round(Object.values(cpu_cores).reduce((total, cores) => total + cores, 0));
  const services: Record<string, ServiceWindow> = {};
  const inside = timeline.metrics.filter((sample) => sample.at >= from && sample.at <= to);
  const names = new Set(timeline.metrics.flatMap((sample) => Object.keys(sample.services)));
  for (const name of names) {
    const series = (field: CounterField) =>
      timeline.metrics
        .filter((sample) => sample.services[name])
        .map((sample) => ({ at: sample.at, value: sample.services[name]![field] }));
    const gauges = inside.map((sample) => sample.services[name]).filter((point) => point !== undefined);
    const delta = (field: CounterField) => Math.max(0, Math.round(deltaOver(series(field), from, to) ?? 0));
    // Counters that came later: null over a window of a run whose samples lack them.
    const exact = (field: "db_queries_total" | "pool_waits_total" | "pool_wait_seconds_total") => {
      const points = timeline.metrics
        .filter((sample) => sample.services[name])
        .map((sample) => ({ at: sample.at, value: sample.services[name]![field] ?? Number.NaN }));
      return points.every((point) => Number.isFinite(point.value)) ? deltaOver(points, from, to) : null;
    };
    const queries = exact("db_queries_total");
    const waits = exact("pool_waits_total");
    const waitSeconds = exact("pool_wait_seconds_total");
    services[name] = {
      pool_size: Math.max(0, ...gauges.map((point) => point.pool_size)),
      pool_in_use_mean: round(gauges.reduce((total, point) => total + point.pool_in_use, 0) / (gauges.length || 1), 2),
      pool_waiting_max: Math.max(0, ...gauges.map((point) => point.pool_waiting)),
      pool_exhausted: delta("pool_exhausted_total"),
      responses_503: delta("responses_503_total"),
      eventloop_lag_p99_max_ms: round(Math.max(0, ...gauges.map((point) => point.eventloop_lag_p99_s)) * 1000, 1),
      cache_hits: delta("cache_hit_total"),
      cache_misses: delta("cache_miss_total"),
      pool_wait_share:
        queries === null || waits === null ? null : queries > 0 ? round(Math.min(1, waits / queries)) : 0,
      pool_waiting_mean: waitSeconds === null ? null : round(waitSeconds / seconds, 2),
    };
  }
  const saturation = timeline.saturation ?? [];
  const throttlingOver = (group: string, field: "periods" | "throttled" | "throttled_s") =>
    deltaOver(
      saturation
        .filter((point) => point.throttling[group])
        .map((point) => ({ at: point.at, value: point.throttling[group]![field] })),
      from,
      to,
    );
  const psi = deltaOver(
    saturation
      .filter((point) => point.psi_some_us !== null)
      .map((point) => ({ at: point.at, value: point.psi_some_us! })),
    from,
    to,
  );
  const cpu_pressure = psi === null ? null : round(Math.min(1, psi / 1e6 / seconds));
  const event_loop: Record<string, number> = {};
  for (const component of new Set(saturation.flatMap((point) => Object.keys(point.main_thread_ticks)))) {
    const processes = Math.max(0, ...saturation.map((point) => point.main_thread_ticks[component]?.length ?? 0));
    const shares = Array.from({ length: processes }, (_, index) => {
      const ticks = deltaOver(
        saturation
          .filter((point) => point.main_thread_ticks[component]?.[index] !== undefined)
          .map((point) => ({ at: point.at, value: point.main_thread_ticks[component]![index]! })),
        from,
        to,
      );
      return ticks === null ? 0 : ticks / timeline.clock_ticks / seconds;
    });
    event_loop[component] = round(Math.max(0, ...shares));
  }
  const machineUtilisation = round(machine_cores / timeline.cores);
  const ranked: ResourceUse[] = [
    {
      resource: "machine CPU",
      used: machine_cores,
      capacity: timeline.cores,
      utilisation: machineUtilisation,
      unit: "cores",
      // PSI "some" also counts tasks held back by their own cgroup's quota (a throttled task stays
      // runnable), so pressure alone cannot tell a full machine from a full budget: as for a budget,
      // the machine is saturated only as far as it is also used.
      saturation: cpu_pressure === null ? machineUtilisation : Math.min(cpu_pressure, machineUtilisation),
      signal: cpu_pressure === null ? "utilisation" : "pressure",
    },
    ...Object.entries(cpu_cores).map(([group, cores]): ResourceUse => {
      const capacity = timeline.group_capacity[group] ?? 1;
      const utilisation = round(cores / capacity);
      const periods = throttlingOver(group, "periods");
      const throttled = throttlingOver(group, "throttled");
      const throttledSeconds = throttlingOver(group, "throttled_s");
      const use = { resource: `${group} CPU`, used: cores, capacity, utilisation, unit: "cores" };
      if (periods === null || throttled === null) return { ...use, saturation: utilisation, signal: "utilisation" };
      return {
        ...use,
        // Held back by its budget *and* using it: a nearly idle component whose bursts overrun a
        // 10 ms period is throttled often, but has budget to spare over the window.
        saturation: periods > 0 ? round(Math.min(utilisation, throttled / periods, 1)) : 0,
        signal: "throttled periods",
        throttled_s_per_s: round((throttledSeconds ?? 0) / seconds),
      };
    }),
    ...Object.entries(services)
      .filter(([, window]) => window.pool_size > 0)
      .map(([name, window]): ResourceUse => {
        const use = {
          resource: `${name} pool`,
          used: window.pool_in_use_mean,
          capacity: window.pool_size,
          utilisation: round(window.pool_in_use_mean / window.pool_size),
          unit: "connections in use",
          waiting: window.pool_waiting_max,
        };
        if (window.pool_wait_share !== null)
          return { ...use, saturation: window.pool_wait_share, signal: "queued queries" };
        // Runs from before the wait counters: a request seen waiting means the pool was full.
        return { ...use, saturation: window.pool_waiting_max > 0 ? 1 : use.utilisation, signal: "waiting seen" };
      }),
  ];
  ranked.sort((a, b) => b.saturation - a.saturation || b.utilisation - a.utilisation);
  return { from, to, cpu_cores, machine_cores, services, event_loop, cpu_pressure, ranked };
}

/**
 * The most saturated part of the system, e.g. "postgres CPU 0.49/0.5 cores": never the load generator
 * (a step it limits is inconclusive, judged apart), and the machine as a whole only by its CPU
 * pressure bounded by its use: when its cores are busy and tasks wait for one while every budget has
 * room, the machine is what ran out.
 */
export function busiest(use: WindowUse): ResourceUse | undefined {
  return use.ranked.find(
    (resource) =>
      resource.resource !== "locust CPU" && (resource.resource !== "machine CPU" || resource.signal === "pressure"),
  );
}

export const describeUse = (resource: ResourceUse | undefined) => {
  if (!resource) return "–";
  const waiting = resource.waiting ? `, up to ${resource.waiting} waiting` : "";
  const percent = (share: number) => `${Math.round(share * 100)} %`;
  const saturation =
    resource.signal === "throttled periods"
      ? `, throttled in ${percent(resource.saturation)} of its periods`
      : resource.signal === "queued queries"
        ? `, ${percent(resource.saturation)} of queries queued`
        : resource.signal === "pressure"
          ? `, CPU pressure ${percent(resource.saturation)}`
          : "";
  return `${resource.resource} ${resource.used}/${resource.capacity} ${resource.unit}${saturation}${waiting}`;
};
