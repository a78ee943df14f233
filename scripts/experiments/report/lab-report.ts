import { mkdir } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { AGGREGATED, type HistoryRow, readHistory } from "../analysis/locust-csv";
import { slowdownFor } from "../analysis/predict";
import { groupedBarChart, kneeChart, latencyPanels, renderSvg, VEGA_LITE_SCHEMA } from "../charts/charts";
import { changedFlags, EXPERIMENTS_DIR, experimentNames, loadExperiment } from "../results/flags";
import { csvFiles, REPORT_FILE, SUMMARY_FILE, type Summary } from "../results/format";
import { PROFILES, type ProfileName } from "../results/profiles";
import { finishedRuns } from "../results/runs";
import { ms, percent, table } from "./markdown";
import { collectRateRuns, kneeBars, latencyPoints, rateLabMarkdown } from "./rate-report";
import { describeLoad } from "./run-report";

export type LabEntry = {
  name: string;
  /** The flags this experiment changes over the one before it. */
  change: string;
  runs: Partial<Record<ProfileName, { dir: string; summary: Summary }>>;
};

/** The newest results folder of an experiment for a profile, or null. */
export async function latestRun(experimentDir: string, profile: ProfileName): Promise<string | null> {
  return (await finishedRuns(experimentDir, profile)).at(-1) ?? null;
}

const SEARCH_ENDPOINTS = ["/courses?q=:common", "/courses?q=:rare"];

/** The newest run of each experiment for each profile. */
export async function collectLab(profiles: readonly ProfileName[], root = EXPERIMENTS_DIR): Promise<LabEntry[]> {
  const entries: LabEntry[] = [];
  let previous: Awaited<ReturnType<typeof loadExperiment>> | undefined;
  for (const name of experimentNames(root)) {
    const experiment = await loadExperiment(name, root);
    const changed = previous ? changedFlags(previous.flags, experiment.flags) : experiment.flags;
    const change = Object.entries(changed)
      .map(([flag, value]) => `${flag}=${value}`)
      .join(", ");
    const runs: LabEntry["runs"] = {};
    for (const profile of profiles) {
      const dir = await latestRun(experiment.dir, profile);
      if (dir) runs[profile] = { dir, summary: (await Bun.file(join(dir, SUMMARY_FILE)).json()) as Summary };
    }
    entries.push({ name, change: previous ? change : `baseline: ${change}`, runs });
    previous = experiment;
  }
  return entries;
}

const ratio = (value: number | null | undefined, base: number | null | undefined) =>
  value === null || value === undefined || !base ? "–" : `${(value / base).toFixed(2)}×`;

const endpoint = (summary: Summary, name: string) => summary.endpoints.find((row) => row.name === name);

function steadyTable(entries: readonly LabEntry[], profile: ProfileName, baseDir: string): string {
  const base = entries[0]?.runs[profile]?.summary;
  const rows = entries.map((entry) => {
    const run = entry.runs[profile];
    if (!run) return [entry.name, entry.change, "not run yet", "", "", "", "", "", "", "", ""];
    const { summary } = run;
    const search = SEARCH_ENDPOINTS.map((name) => ms(endpoint(summary, name)?.p99_ms ?? null)).join(" / ");
    return [
      `[${entry.name}](${relative(baseDir, join(run.dir, REPORT_FILE))})`,
      entry.change,
      summary.totals.rps,
      ms(summary.totals.p50_ms),
      ms(summary.totals.p95_ms),
      ms(summary.totals.p99_ms),
      ratio(summary.totals.p99_ms, base?.totals.p99_ms),
      search,
      percent(summary.totals.failure_ratio),
      summary.generator_limited ? "yes" : "no",
      summary.run_id,
    ];
  });
  return table(
    [
      "experiment",
      "changes",
      "req/s",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "p99 vs baseline",
      "search p99 ms (common / rare)",
      "failures",
      "generator limited",
      "run",
    ],
    rows,
  );
}

function capacityTable(entries: readonly LabEntry[], baseDir: string): string {
  const base = entries[0]?.runs.capacity?.summary.capacity?.highest_rps_within_limits;
  const rows = entries.map((entry) => {
    const run = entry.runs.capacity;
    const capacity = run?.summary.capacity;
    if (!run || !capacity) return [entry.name, entry.change, "not run yet", "", "", "", "", ""];
    const over = capacity.first_over;
    return [
      `[${entry.name}](${relative(baseDir, join(run.dir, REPORT_FILE))})`,
      entry.change,
      capacity.highest_rps_within_limits ?? "none",
      ratio(capacity.highest_rps_within_limits, base),
      capacity.last_within?.users ?? "–",
      over ? `${over.users} users: p99 ${over.p99_ms} ms, errors ${percent(over.error_ratio)}` : "not reached",
      run.summary.generator_limited ? "yes" : "no",
      run.summary.run_id,
    ];
  });
  return table(
    [
      "experiment",
      "changes",
      "highest req/s within limits",
      "vs baseline",
      "users",
      "first step over",
      "generator limited",
      "run",
    ],
    rows,
  );
}

function p99ByEndpointChart(entries: readonly LabEntry[], steady: ProfileName): TopLevelSpec {
  const values = entries.flatMap((entry) =>
    (entry.runs[steady]?.summary.endpoints ?? []).flatMap((row) =>
      row.p99_ms === null ? [] : [{ experiment: entry.name, endpoint: `${row.method} ${row.name}`, p99: row.p99_ms }],
    ),
  );
  return groupedBarChart({
    title: `p99 per endpoint, ${steady} run`,
    values,
    row: "endpoint",
    group: "experiment",
    value: "p99",
    valueTitle: "p99, ms",
  });
}

function throughputChart(entries: readonly LabEntry[], steady: ProfileName | undefined): TopLevelSpec {
  const values = entries.flatMap((entry) => {
    const steadyRps = steady ? entry.runs[steady]?.summary.totals.rps : undefined;
    const capacityRps = entry.runs.capacity?.summary.capacity?.highest_rps_within_limits;
    return [
      ...(steadyRps === undefined ? [] : [{ experiment: entry.name, run: `${steady} run`, rps: steadyRps }]),
      ...(capacityRps ? [{ experiment: entry.name, run: "capacity (within limits)", rps: capacityRps }] : []),
    ];
  });
  return groupedBarChart({
    title: "Requests per second",
    values,
    row: "experiment",
    group: "run",
    value: "rps",
    valueTitle: "requests/s",
  });
}

function latencyOverTimeChart(histories: Record<string, HistoryRow[]>, steady: ProfileName): TopLevelSpec {
  const values = Object.entries(histories).flatMap(([experiment, history]) => {
    const rows = history.filter((row) => row.name === AGGREGATED);
    const origin = rows[0]?.timestamp ?? 0;
    return rows.flatMap((row) =>
      row.percentiles["99%"] === null || row.percentiles["99%"] === undefined
        ? []
        : [{ experiment, t: row.timestamp - origin, p99: row.percentiles["99%"] }],
    );
  });
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: `p99 of all endpoints over the ${steady} run (10 s window)`,
    width: 640,
    height: 240,
    data: { values },
    mark: { type: "line", interpolate: "monotone" },
    encoding: {
      x: { field: "t", type: "quantitative", title: "seconds since start" },
      y: { field: "p99", type: "quantitative", title: "p99, ms", scale: { type: "symlog" } },
      color: { field: "experiment", type: "nominal", title: null },
    },
  } as TopLevelSpec;
}

const describeMachine = (machine: Summary["machine"]) =>
  `${machine.cpu_model}, ${machine.cores} cores, ${(machine.memory_bytes / 2 ** 30).toFixed(1)} GiB; Bun ${machine.bun}; ${machine.postgres}; Locust ${machine.locust}`;

/** The lab report: every experiment's newest runs side by side against the baseline, with charts. */
export async function writeLabReport(
  profiles: readonly ProfileName[],
  options: { root?: string; file?: string; budgeted?: boolean } = {},
): Promise<string> {
  const root = options.root ?? EXPERIMENTS_DIR;
  const file = options.file ?? join(root, "REPORT.md");
  const baseDir = join(file, "..");
  const entries = await collectLab(profiles, root);
  // REPORT.md → report-charts/, REPORT.smoke.md → report-smoke-charts/
  const chartsName = `${basename(file, ".md").toLowerCase().replaceAll(".", "-")}-charts`;
  const chartsDir = join(baseDir, chartsName);
  await mkdir(chartsDir, { recursive: true });
  const charts: [string, string][] = [];
  const chart = async (title: string, name: string, spec: TopLevelSpec) => {
    await Bun.write(join(chartsDir, name), await renderSvg(spec));
    charts.push([title, `${chartsName}/${name}`]);
  };

  const lines = [
    "# Coursework Lab — experiments report",
    "",
    "Generated by `bun run lab` from `experiments/*/results/`: the rate profile from every run (its repeats),",
    "the other profiles from the newest run of each experiment. Each experiment is the previous one plus one",
    "fix (its `flags.env`); the first row is the baseline. Runs marked *generator limited* had Locust using",
    "about a whole core: their ceiling may be the load generator's, not the services'.",
    "",
  ];
  for (const profile of profiles) {
    if (profile === "rate") {
      // Every repeat counts here, not just the newest run.
      const rateEntries = (await collectRateRuns(root, options.budgeted)).map((entry, index) => ({
        ...entry,
        change: entries[index]?.change ?? "",
      }));
      const summaries = rateEntries.flatMap((entry) => entry.runs.map((run) => run.summary));
      lines.push("## rate profile: the knee of each rung", "");
      // The newest run names the ladder (an earlier run may have had fewer steps at the top).
      const newest = summaries.toSorted((a, b) => a.started_at.localeCompare(b.started_at)).at(-1);
      if (newest) lines.push(`Load: ${describeLoad(newest)}.`, "");
      const machines = [...new Set(summaries.map((summary) => describeMachine(summary.machine)))];
      if (machines.length) lines.push(`Machine${machines.length > 1 ? "s" : ""}: ${machines.join(" | ")}.`, "");
      const budgets = summaries.find((summary) => summary.budgets)?.budgets;
      lines.push(
        budgets && budgets.mode !== "unbudgeted"
          ? `CPU budgets (${budgets.mode}, ${budgets.scale} × deploy/cpu-budgets.yaml, period ${budgets.period_us / 1000} ms), ${budgets.slowdown ? "reference cores (each run's × its slowdown)" : "cores"}: ${Object.entries(
              budgets.components,
            )
              .map(
                ([component, { cores }]) =>
                  `${component} ${Math.round((cores / slowdownFor(component, budgets)) * 1000) / 1000}`,
              )
              .join(", ")}; Locust outside every budget.`
          : "Unbudgeted runs: every component and Locust share the machine's cores.",
        "",
      );
      lines.push(...rateLabMarkdown(rateEntries, baseDir));
      if (summaries[0]?.rate) {
        await chart("Knee per rung", "knees.svg", kneeChart(kneeBars(rateEntries)));
        const { points, knees } = latencyPoints(rateEntries);
        await chart(
          "Latency against throughput",
          "latency-throughput.svg",
          latencyPanels(points, knees, summaries[0].rate.limits.p99LimitMs),
        );
      }
      continue;
    }
    const summaries = entries.flatMap((entry) => entry.runs[profile]?.summary ?? []);
    lines.push(`## ${profile} profile`, "");
    if (summaries[0]) lines.push(`Load: ${describeLoad(summaries[0])}.`, "");
    if (PROFILES[profile].kind === "steady") {
      lines.push(
        "A closed loop: each user waits for an answer, then 0.5–1.5 s, before the next request, so the req/s below is set",
        "by the users' wait times, not by the server; a slow server makes fewer requests arrive. Compare rungs on the rate",
        "profile's knees.",
        "",
      );
    }
    // A profile's runs are compared with each other only; say so when they come from different machines.
    const machines = [...new Set(summaries.map((summary) => describeMachine(summary.machine)))];
    if (machines.length) lines.push(`Machine${machines.length > 1 ? "s" : ""}: ${machines.join(" | ")}.`, "");
    lines.push(profile === "capacity" ? capacityTable(entries, baseDir) : steadyTable(entries, profile, baseDir), "");
  }

  const steady = profiles.find((profile) => PROFILES[profile].kind === "steady");
  if (steady && entries.some((entry) => entry.runs[steady])) {
    await chart("p99 per endpoint", "p99-by-endpoint.svg", p99ByEndpointChart(entries, steady));
    const histories: Record<string, HistoryRow[]> = {};
    for (const entry of entries) {
      const run = entry.runs[steady];
      if (run) histories[entry.name] = await readHistory(csvFiles(run.dir).history);
    }
    await chart("p99 over time", "p99-over-time.svg", latencyOverTimeChart(histories, steady));
  }
  // The closed-loop profiles' charts, only when they were run: the rate profile's lead the report.
  if (entries.some((entry) => (steady && entry.runs[steady]) || entry.runs.capacity)) {
    await chart("Throughput", "throughput.svg", throughputChart(entries, steady));
  }
  if (charts.length) {
    lines.push("## Charts", "");
    for (const [title, path] of charts) lines.push(`![${title}](${path})`, "");
  }
  await Bun.write(file, lines.join("\n"));
  return file;
}
