/**
 * A small, bounded load loop for the fault tests: a few workers send requests to 127.0.0.1 in turn,
 * with a pause between requests, until stopped or until `maxMs` has passed.
 */
export type Probe = { name: string; send: (signal: AbortSignal) => Promise<Response> };
/** One request: when it started and ended (performance.now() ms), and its status or the error instead. */
export type Sample = { name: string; started: number; ended: number; status: number | null; error?: string };

export type LoadOptions = { workers: number; maxMs: number; requestTimeoutMs: number; pauseMs: number };

export function startLoad(probes: Probe[], options: LoadOptions) {
  const samples: Sample[] = [];
  let running = true;
  const deadline = performance.now() + options.maxMs;
  const worker = async (offset: number) => {
    for (let i = offset; running && performance.now() < deadline; i++) {
      const probe = probes[i % probes.length] as Probe;
      const started = performance.now();
      try {
        const response = await probe.send(AbortSignal.timeout(options.requestTimeoutMs));
        await response.arrayBuffer();
        samples.push({ name: probe.name, started, ended: performance.now(), status: response.status });
      } catch (error) {
        samples.push({ name: probe.name, started, ended: performance.now(), status: null, error: String(error) });
      }
      await Bun.sleep(options.pauseMs);
    }
  };
  const done = Promise.all(Array.from({ length: options.workers }, (_, i) => worker(i)));
  return {
    samples,
    stop: async () => {
      running = false;
      await done;
      return samples;
    },
  };
}

/** Counts of statuses ("error" for no answer), e.g. { "200": 120, "503": 40 }. */
export function tally(samples: Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const sample of samples) {
    const key = sample.status === null ? "error" : String(sample.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
