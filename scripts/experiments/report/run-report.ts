import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { readHistory } from "../analysis/locust-csv";
import { buildSummary, GENERATOR_LIMIT_CORES } from "../analysis/summary";
import {
  type BudgetPoint,
  budgetChart,
  capacityChart,
  endpointLatencyChart,
  endpointPercentilesChart,
  errorsChart,
  type LadderStep,
  ladderChart,
  latencyChart,
  latencyPanels,
  renderSvg,
  throughputChart,
} from "../charts/charts";
import {
  type BudgetRecord,
  csvFiles,
  type EndpointSummary,
  EXPLAIN_FILE,
  type RateResult,
  REPORT_FILE,
  SUMMARY_FILE,
  type Summary,
  type Timeline,
} from "../results/format";
import { ms, percent, table } from "./markdown";
import { latencyPoints, rateRunMarkdown } from "./rate-report";

const CHARTS_DIR = "charts";

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

const endpointRow = (endpoint: EndpointSummary) => [
  `${endpoint.method} ${endpoint.name}`.trim(),
  endpoint.requests,
  endpoint.failures,
  endpoint.rps,
  ms(endpoint.p50_ms),
  ms(endpoint.p95_ms),
  ms(endpoint.p99_ms),
  endpoint.max_ms,
];

export function describeLoad(summary: Pick<Summary, "load">): string {
  const load = summary.load;
  if (load.kind === "steady") return `${load.users} users, spawn ${load.spawnRate}/s, ${load.seconds} s`;
  if (load.kind === "rate") {
    return (
      `open load: offered ${load.rates.join(", ")} req/s, each ${load.settleSeconds} s settle + ${load.measureSeconds} s measured, ` +
      `${load.users} users waiting for the schedule's slots; a step is held at achieved ≥ ${load.heldShare * 100} % of offered, ` +
      `${load.droppedLimit === undefined ? "" : `dropped slots < ${load.droppedLimit * 100} %, `}` +
      `p99 ≤ ${load.p99LimitMs} ms and errors < ${load.errorLimit * 100} %`
    );
  }
  return (
    `step load: +${load.stepUsers} users every ${load.stepSeconds} s (spawn ${load.spawnRate}/s) up to ${load.maxUsers}, ` +
    `until p99 > ${load.p99LimitMs} ms or errors > ${load.errorLimit * 100}%`
  );
}

const flagLine = (summary: Pick<Summary, "flags">) =>
  Object.entries(summary.flags)
    .map(([name, value]) => `\`${name}=${value}\``)
    .join(" ");

/** report.md of one run, with the names of the chart files written beside it. */
export function runReportMarkdown(summary: Summary, charts: Record<string, string>, hasExplain: boolean): string {
  const { machine, cpu, capacity } = summary;
  const lines: string[] = [
    `# ${summary.experiment} — ${summary.profile} run ${summary.run_id}`,
    "",
    `- Flags: ${flagLine(summary)}`,
    `- Load: ${describeLoad(summary)}; services: ${summary.services.join(", ")}`,
    `- Seed: ${Object.entries(summary.seed)
      .map(([table, count]) => `${count.toLocaleString("en")} ${table}`)
      .join(", ")}`,
    `- Locust started ${summary.started_at} and ran ${summary.duration_s} s, after a ${summary.load.warmupSeconds} s warm-up`,
    `- Machine: ${machine.cpu_model}, ${machine.cores} cores, ${gib(machine.memory_bytes)}; ${machine.os}; Bun ${machine.bun}; ${machine.postgres}; Locust ${machine.locust} on Python ${machine.python}`,
    `- Locust: \`${summary.command.join(" ")}\``,
    "",
  ];
  if (summary.generator_limited) {
    lines.push(
      `> **Load-generator limited.** Locust used ${cpu.groups.locust?.cores_peak} cores at its busiest ${cpu.window_seconds} s ` +
        `(≥ ${GENERATOR_LIMIT_CORES} of its one core): past that point the numbers describe Locust, not the services.`,
      "",
    );
  }
  lines.push(...rateRunMarkdown(summary));
  if (capacity) {
    lines.push("## Capacity", "");
    if (capacity.last_within) {
      lines.push(
        `**Highest throughput held within the limits: ${capacity.highest_rps_within_limits} requests/s** ` +
          `(last step within limits: ${capacity.last_within.users} users, p99 ${capacity.last_within.p99_ms} ms, ` +
          `errors ${percent(capacity.last_within.error_ratio)}).`,
      );
    } else {
      lines.push("**No step was within the limits.**");
    }
    if (capacity.first_over) {
      const over = capacity.first_over;
      lines.push(
        "",
        `First step over the limits: ${over.users} users, ${over.rps} requests/s, p99 ${over.p99_ms} ms, errors ${percent(over.error_ratio)}.`,
      );
    } else {
      lines.push("", "No step went over the limits before the run ended: the capacity is at least the figure above.");
    }
    lines.push(
      "",
      table(
        ["users", "requests/s", "highest p99 ms", "errors", "within limits"],
        capacity.steps.map((step) => [
          step.users,
          step.rps,
          step.p99_ms,
          percent(step.error_ratio),
          step.within_limits ? "yes" : "no",
        ]),
      ),
      "",
    );
  }
  lines.push(
    "## Totals",
    "",
    table(
      ["", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"],
      [endpointRow({ ...summary.totals, method: "", name: "all endpoints" })],
    ),
    "",
    `Failure ratio: ${percent(summary.totals.failure_ratio)}.`,
    "",
    "## Endpoints",
    "",
    table(
      ["endpoint", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"],
      summary.endpoints.map(endpointRow),
    ),
    "",
  );
  if (summary.failures.length) {
    lines.push(
      "## Failures",
      "",
      table(
        ["endpoint", "error", "count"],
        summary.failures.map((failure) => [
          `${failure.method} ${failure.name}`,
          failure.error.replace(/\s+/g, " ").slice(0, 160),
          failure.occurrences,
        ]),
      ),
      "",
    );
  }
  if (summary.exceptions.length) {
    lines.push(
      "## Exceptions in the locustfile",
      "",
      "Raised inside a task, so not counted as failed requests; the scenario did less than it should have.",
      "",
      table(
        ["count", "message"],
        summary.exceptions.map((exception) => [exception.count, exception.message.replace(/\s+/g, " ").slice(0, 200)]),
      ),
      "",
    );
  }
  lines.push(
    "## CPU",
    "",
    `Sampled from /proc every second over ${cpu.wall_seconds} s (the Locust run); 1.00 core = one core busy the whole time.`,
    "",
    table(
      ["process group", "CPU seconds", "cores, mean", `cores, busiest ${cpu.window_seconds} s`, "processes"],
      Object.entries(cpu.groups).map(([name, group]) => [
        name,
        group.cpu_seconds,
        group.cores_mean.toFixed(2),
        group.cores_peak.toFixed(2),
        group.processes,
      ]),
    ),
    "",
    "## Charts",
    "",
  );
  for (const [title, file] of Object.entries(charts)) lines.push(`![${title}](${file})`, "");
  lines.push(
    "## Files",
    "",
    "- `summary.json`: everything above as data",
    "- `locust_stats.csv`, `locust_stats_history.csv`, `locust_failures.csv`: Locust's own output",
  );
  if (hasExplain) lines.push(`- \`${EXPLAIN_FILE}\`: the search query's plan, EXPLAIN (ANALYZE, BUFFERS)`);
  if (summary.rate) {
    lines.push(
      "- `locust_steps.csv`, `locust_steps_endpoints.csv`: each rate step's measured window and verdict (load/schedule.py)",
    );
  }
  lines.push(
    "- `timeline.json`: CPU per process group and each service's pool, 503, event-loop, cache and latency figures, every second",
  );
  lines.push("- `metrics/`: each service's /metrics right after the run", "");
  return lines.join("\n");
}

async function writeCharts(dir: string, specs: Record<string, [file: string, spec: TopLevelSpec]>) {
  await mkdir(join(dir, CHARTS_DIR), { recursive: true });
  const written: Record<string, string> = {};
  for (const [title, [file, spec]] of Object.entries(specs)) {
    await Bun.write(join(dir, CHARTS_DIR, file), await renderSvg(spec));
    written[title] = `${CHARTS_DIR}/${file}`;
  }
  return written;
}

/** Each step in the order run, labelled with its place and offered rate. */
export const ladderSteps = (rate: RateResult): LadderStep[] =>
  rate.steps.map((step, index) => ({
    label: `${index + 1}: ${step.offered_rps}`,
    offered: step.offered_rps,
    achieved: step.achieved_rps,
    dropped: step.measured_s > 0 ? Math.round((step.dropped / step.measured_s) * 10) / 10 : 0,
  }));

/** Each process group's cores, second by second from the ladder's start, beside its budget. */
export function budgetPoints(timeline: Timeline, budgets: BudgetRecord | undefined, from: number): BudgetPoint[] {
  const points: BudgetPoint[] = [];
  const components = budgets && budgets.mode !== "unbudgeted" ? budgets.components : {};
  for (let i = 1; i < timeline.cpu.length; i++) {
    const [before, now] = [timeline.cpu[i - 1]!, timeline.cpu[i]!];
    const seconds = now.at - before.at;
    if (now.at < from || seconds <= 0) continue;
    for (const [group, ticks] of Object.entries(now.ticks)) {
      if (group === "locust") continue;
      const cores = (ticks - (before.ticks[group] ?? 0)) / timeline.clock_ticks / seconds;
      points.push({
        t: Math.round(now.at - from),
        component: group,
        cores: Math.round(cores * 1000) / 1000,
        budget: components[group]?.cores ?? null,
      });
    }
  }
  return points;
}

/** Reads a results folder (run.json and Locust's CSV files) and writes summary.json, the charts and report.md. */
export async function writeRunReport(dir: string): Promise<Summary> {
  const summary = await buildSummary(dir);
  await Bun.write(join(dir, SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`);
  const history = await readHistory(csvFiles(dir).history);
  const specs: Record<string, [string, TopLevelSpec]> = {
    "Latency percentiles over time": ["latency.svg", latencyChart(history, summary.capacity?.p99_limit_ms)],
    "Throughput and users": ["throughput.svg", throughputChart(history)],
    "Failures per second": ["errors.svg", errorsChart(history)],
    "p99 per endpoint over time": ["endpoints-over-time.svg", endpointLatencyChart(history)],
    "Percentiles per endpoint": ["endpoints.svg", endpointPercentilesChart(summary.endpoints)],
  };
  if (summary.capacity?.steps.length) specs["Capacity steps"] = ["capacity.svg", capacityChart(summary.capacity)];
  if (summary.rate?.steps.length) {
    const { points, knees } = latencyPoints([{ name: summary.experiment, change: "", runs: [{ dir, summary }] }]);
    specs["Latency against throughput"] = [
      "latency-throughput.svg",
      latencyPanels(points, knees, summary.rate.limits.p99LimitMs),
    ];
    specs["Offered, achieved and dropped"] = ["ladder.svg", ladderChart(ladderSteps(summary.rate))];
    const timeline = Bun.file(join(dir, "timeline.json"));
    if (await timeline.exists())
      specs["CPU against budget"] = [
        "budgets.svg",
        budgetChart(
          budgetPoints((await timeline.json()) as Timeline, summary.budgets, summary.rate.steps[0]!.started_at),
        ),
      ];
  }
  const charts = await writeCharts(dir, specs);
  const hasExplain = await Bun.file(join(dir, EXPLAIN_FILE)).exists();
  await Bun.write(join(dir, REPORT_FILE), runReportMarkdown(summary, charts, hasExplain));
  return summary;
}
