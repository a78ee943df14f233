import type { RateResult, RungPrediction } from "../results/format";
import { costsAtKnee, MISS_TO_EXPLAIN, predictionMiss } from "./predict";
import { spread } from "./rate";
import { describeUse } from "./resources";

/**
 * The rungs side by side: each one's knee over its repeats with its min–max, the peak achieved
 * throughput beside it, the knee predicted before its runs, and how it compares with the rung
 * before. Two rungs whose knee ranges overlap are "no difference", never a ranking.
 */

type Run = { summary: { run_id: string; rate?: RateResult | null; prediction?: RungPrediction | null } };
export type Rung = { name: string; runs: readonly Run[] };

export type Spread = NonNullable<ReturnType<typeof spread>>;

export type RungKnees = {
  name: string;
  knee: Spread | null;
  peak: Spread | null;
  /** The median over the runs' own predictions (each made before its run), with the component predicted to run out. */
  predicted: { knee_rps: number; limiting: string; from: string } | null;
  /** (measured − predicted) ÷ predicted, on the median knee. */
  miss: number | null;
  /** Against the rung before: "no difference" when the min–max ranges overlap, else the ratio of medians. */
  versus: string;
  /** Why a prediction missed by more than MISS_TO_EXPLAIN, from the counters. */
  why: string | null;
};

const overlaps = (a: Spread, b: Spread) => a.min <= b.max && b.min <= a.max;

/** The comparison of one rung's knees with the rung before's, as the report words it. */
export function versus(knee: Spread | null, before: Spread | null): string {
  if (!knee || !before) return "–";
  if (overlaps(knee, before)) return "no difference (ranges overlap)";
  return `${(knee.median / before.median).toFixed(2)}× (${knee.median > before.median ? "higher" : "lower"})`;
}

/** The run whose knee is the median one (the lower middle for an even count). */
export function medianRun<T extends Run>(runs: readonly T[]): T | undefined {
  const sorted = [...runs].sort((a, b) => (a.summary.rate?.knee_rps ?? 0) - (b.summary.rate?.knee_rps ?? 0));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Why the knee missed its prediction, from what was measured: the predicted component's cost at this
 * rung's knees against the cost the prediction used, and what ran out at the median run's lowest
 * failed step.
 */
function explainMiss(rung: Rung, predicted: NonNullable<RungKnees["predicted"]>, miss: number): string {
  const used = medianRun(rung.runs)?.summary.prediction?.costs.find((cost) => cost.component === predicted.limiting);
  const now =
    predicted.limiting === "machine"
      ? null
      : (costsAtKnee(rung.runs.map((run) => run.summary))[predicted.limiting] ?? null);
  const parts: string[] = [];
  if (used && now !== null) {
    const change = now / used.cpu_ms_per_request;
    parts.push(
      `${predicted.limiting} cost ${now.toFixed(2)} ms of CPU per request at ${rung.name}'s knees against ${used.cpu_ms_per_request.toFixed(2)} ms at ${predicted.from}'s` +
        (Math.abs(change - 1) > MISS_TO_EXPLAIN
          ? ` (×${change.toFixed(2)}: the fix changed the cost the prediction assumed)`
          : " (about the same cost)"),
    );
  }
  const failed = medianRun(rung.runs)?.summary.rate;
  const ran = failed?.saturated_at_failure;
  if (ran) {
    const same = ran.resource.startsWith(`${predicted.limiting} `);
    parts.push(
      `at the lowest failed step (${failed.first_failed_rps ?? failed.inconclusive_rps} req/s) the most saturated was ${describeUse(ran)}` +
        (same ? "" : `, not ${predicted.limiting}`),
    );
  }
  const direction = miss > 0 ? "above" : "below";
  return `${Math.abs(Math.round(miss * 100))} % ${direction} the prediction: ${parts.join("; ") || "no counters to say why"}.`;
}

/** Each rung's knees, peak throughput, prediction and comparison with the rung before. */
export function rungKnees(rungs: readonly Rung[]): RungKnees[] {
  const rows: RungKnees[] = [];
  let before: Spread | null = null;
  for (const rung of rungs) {
    const knee = spread(rung.runs.flatMap(({ summary }) => (summary.rate?.knee_rps ? [summary.rate.knee_rps] : [])));
    const peak = spread(
      rung.runs.flatMap(({ summary }) => (summary.rate?.peak_achieved_rps ? [summary.rate.peak_achieved_rps] : [])),
    );
    const predictions = rung.runs.flatMap(({ summary }) => (summary.prediction ? [summary.prediction] : []));
    const middle = spread(predictions.map((prediction) => prediction.knee_rps));
    const limiting = predictions.find((prediction) => prediction.knee_rps === middle?.median) ?? predictions[0];
    const predicted =
      middle && limiting ? { knee_rps: middle.median, limiting: limiting.limiting, from: limiting.from } : null;
    const miss = predicted && knee ? predictionMiss(predicted.knee_rps, knee.median) : null;
    rows.push({
      name: rung.name,
      knee,
      peak,
      predicted,
      miss,
      versus: versus(knee, before),
      why: predicted && miss !== null && Math.abs(miss) > MISS_TO_EXPLAIN ? explainMiss(rung, predicted, miss) : null,
    });
    before = knee;
  }
  return rows;
}
