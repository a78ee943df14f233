/** @jsxImportSource @kitajs/html */
import { FLAG_LABELS } from "@lab/shared/promql";
import { webLinks } from "@lab/shared/ui";
import type { LabCharts } from "./charts";
import type { LabSnapshot, ServiceSummary } from "./model";
import { HISTORY_SECONDS } from "./service";

/** How often the page asks for fresh numbers. */
export const POLL = "every 2s";

const dash = "—";
const utc = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");
const fixed = (value: number | null, digits: number, unit = "") =>
  value === null ? dash : `${value.toFixed(digits)}${unit}`;
const ms = (seconds: number | null) => (seconds === null ? dash : fixed(seconds * 1000, seconds < 0.01 ? 2 : 1, " ms"));
const percent = (share: number | null) => (share === null ? dash : fixed(share * 100, 1, " %"));
const pool = (s: ServiceSummary) =>
  s.poolSize === null
    ? dash
    : `${s.poolInUse ?? 0}/${s.poolSize}${s.poolWaiting ? ` (+${s.poolWaiting} waiting)` : ""}`;

const Cell = ({ children, class: className = "" }: { children: string; class?: string }) => (
  <td class={`px-3 py-1.5 text-right tabular-nums ${className}`} safe>
    {children}
  </td>
);

const FlagsTable = ({ services }: { services: ServiceSummary[] }) => (
  <table class="min-w-full text-sm" data-testid="lab-flags">
    <caption class="pb-2 text-left text-base font-semibold text-slate-900">Active flags</caption>
    <thead class="text-xs uppercase tracking-wide text-slate-500">
      <tr>
        <th class="px-3 py-1.5 text-left">service</th>
        {FLAG_LABELS.map((flag) => (
          <th class="px-3 py-1.5 text-left" safe>
            {flag}
          </th>
        ))}
      </tr>
    </thead>
    <tbody class="divide-y divide-slate-100">
      {services.map((s) => (
        <tr>
          <th class="px-3 py-1.5 text-left font-medium" safe>
            {s.service}
          </th>
          {FLAG_LABELS.map((flag) => (
            <td class="px-3 py-1.5 font-mono text-xs" safe>
              {s.flags[flag] ?? dash}
            </td>
          ))}
        </tr>
      ))}
    </tbody>
  </table>
);

const SummaryTable = ({ snapshot }: { snapshot: LabSnapshot }) => (
  <table class="min-w-full text-sm" data-testid="lab-summary">
    <caption class="pb-2 text-left text-base font-semibold text-slate-900" safe>
      {snapshot.range
        ? `Per service, ${utc(snapshot.range.from)} to ${utc(snapshot.range.to)} UTC (${Math.round((snapshot.range.to - snapshot.range.from) / 1000)} s)`
        : `Per service, over the last ${snapshot.windowSeconds} s`}
    </caption>
    <thead class="text-xs uppercase tracking-wide text-slate-500">
      <tr>
        <th class="px-3 py-1.5 text-left">service</th>
        {["req/s", "p50", "p95", "p99", "4xx", "5xx", "in flight", "db pool"].map((title) => (
          <th class="px-3 py-1.5 text-right" safe>
            {title}
          </th>
        ))}
      </tr>
    </thead>
    <tbody class="divide-y divide-slate-100">
      {snapshot.services.map((s) => (
        <tr data-service={s.service} class={s.up ? "" : "text-slate-400"}>
          <th class="px-3 py-1.5 text-left font-medium">
            <span safe>{s.service}</span>
            {s.up ? "" : <span class="ml-2 text-xs font-normal text-red-700">down</span>}
          </th>
          <Cell>{fixed(s.rps, 1)}</Cell>
          <Cell>{ms(s.p50)}</Cell>
          <Cell>{ms(s.p95)}</Cell>
          <Cell>{ms(s.p99)}</Cell>
          <Cell>{percent(s.errors4xx)}</Cell>
          <Cell class={s.errors5xx ? "font-semibold text-red-700" : ""}>{percent(s.errors5xx)}</Cell>
          <Cell>{fixed(s.inFlight, 0)}</Cell>
          <Cell>{pool(s)}</Cell>
        </tr>
      ))}
    </tbody>
  </table>
);

/** An SVG drawn on the server by Vega; it holds no user text and is inserted as it is. */
const Chart = ({ name, svg }: { name: string; svg: string }) => (
  <figure class="rounded-lg border border-slate-200 bg-white p-2 [&>svg]:h-auto [&>svg]:max-w-full" data-chart={name}>
    {svg}
  </figure>
);

/** The part of the page that HTMX replaces on every poll. */
export const LabLive = ({ snapshot, charts }: { snapshot: LabSnapshot; charts: LabCharts | null }) => (
  <div class="flex flex-col gap-6">
    {snapshot.notice ? (
      <p class="error" role="status" safe>
        {snapshot.notice}
      </p>
    ) : (
      ""
    )}
    <div class="overflow-x-auto">
      <FlagsTable services={snapshot.services} />
    </div>
    <div class="overflow-x-auto">
      <SummaryTable snapshot={snapshot} />
    </div>
    {charts ? (
      <div class="grid gap-4 lg:grid-cols-2">
        <Chart name="requests" svg={charts.requests} />
        <Chart name="errors" svg={charts.errors} />
        <div class="lg:col-span-2">
          <Chart name="latency" svg={charts.latency} />
        </div>
      </div>
    ) : (
      <p class="text-sm text-slate-600" data-testid="lab-collecting">
        Collecting: the charts appear after two readings of each service.
      </p>
    )}
  </div>
);

/** The Lab page's content: what it shows, and the live part polled by HTMX. */
export const LabPage = ({ snapshot, charts }: { snapshot: LabSnapshot; charts: LabCharts | null }) => (
  <section class="flex flex-col gap-4">
    <div>
      <h1 class="text-2xl font-bold">Lab</h1>
      <p class="text-sm text-slate-600">
        {snapshot.source === "prometheus"
          ? "Live numbers from Prometheus, refreshed every 2 seconds."
          : `Live numbers read from each service's /metrics, refreshed every 2 seconds; the charts keep the last ${HISTORY_SECONDS / 60} minutes this page has seen.`}{" "}
        Run a load (see the experiments) and watch request rate, latency percentiles and errors move.
      </p>
    </div>
    <div id="lab-live" hx-get={webLinks.labLive()} hx-trigger={POLL} hx-swap="innerHTML">
      <LabLive snapshot={snapshot} charts={charts} />
    </div>
  </section>
);

/**
 * A past range's page (`/lab?from=&to=`, or `?run=` for a finished run): the same tables and charts
 * over the range, not polled.
 */
export const LabRangePage = ({ snapshot, charts }: { snapshot: LabSnapshot; charts: LabCharts | null }) => {
  const range = snapshot.range;
  const title = range?.run ?? (range ? `${utc(range.from)} to ${utc(range.to)} UTC` : "");
  const origin = range?.run
    ? "A finished run, replayed from its timeline (each service's /metrics read every second by bun run experiment)"
    : "From Prometheus";
  return (
    <section class="flex flex-col gap-4">
      <div>
        <h1 class="text-2xl font-bold" safe>
          {`Lab: ${title}`}
        </h1>
        <p class="text-sm text-slate-600" safe>
          {`${origin}: every chart point covers the ${snapshot.windowSeconds} s before it, the table the whole range.`}
        </p>
      </div>
      <LabLive snapshot={snapshot} charts={charts} />
    </section>
  );
};
