/** @jsxImportSource @kitajs/html */
import { join } from "node:path";
import { SERVICE_NAMES } from "@lab/shared";
import { Alert, WEB_ROUTES } from "@lab/shared/ui";
import { Elysia } from "elysia";
import type { WebContext } from "../context";
import { html } from "../http";
import { pages } from "../pages";
import { renderCharts } from "./charts";
import type { LabSnapshot } from "./model";
import { ReplayCache, RunNotFoundError, rangeBound, runSnapshot } from "./run";
import { LabNumbers, MetricsSource, PrometheusSource } from "./service";
import { LabLive, LabPage, LabRangePage } from "./views";

/** The Lab page's numbers for the platform's five services: Prometheus when PROMETHEUS_URL is set. */
function labSources(context: WebContext) {
  const direct = new MetricsSource(context.services.urls);
  const prometheusUrl = context.config.PROMETHEUS_URL?.replace(/\/+$/, "");
  const prometheus = prometheusUrl ? new PrometheusSource(prometheusUrl, SERVICE_NAMES) : undefined;
  return { numbers: new LabNumbers(direct, prometheus), prometheus };
}

async function live(numbers: LabNumbers) {
  const snapshot = await numbers.snapshot();
  return { snapshot, charts: await renderCharts(snapshot) };
}

/** Replays kept rendered: a few runs, each over a few ranges. */
const REPLAYS_KEPT = 32;

const LAB_PAGE = {
  title: "Lab",
  description:
    "The Coursework Lab page: live requests per second, error rates and latency of each service, and replays of past experiment runs.",
};

/** Where finished runs are: EXPERIMENTS_DIR, or the repository's experiments/ beside web-htmx/. */
const experimentsDir = (context: WebContext) =>
  context.config.EXPERIMENTS_DIR ?? join(import.meta.dir, "../../../experiments");

/**
 * GET /lab: the active flags and live request rate, latency percentiles and error rates per service,
 * charts drawn on the server; GET /lab/live: the part HTMX polls every 2 s. A past range, not polled:
 * GET /lab?run=<experiment>/<run-id> (&from=&to=, ms since the epoch) replays a finished run from its
 * timeline; GET /lab?from=&to= asks Prometheus, when there is one.
 */
export const labController = (context: WebContext) => {
  const { numbers, prometheus } = labSources(context);
  const replays = new ReplayCache(REPLAYS_KEPT);
  return new Elysia({ name: "web.lab" })
    .use(pages(context))
    .get(WEB_ROUTES.lab, async ({ page, query }) => {
      if (query.run === undefined && query.from === undefined && query.to === undefined) {
        return page({ ...LAB_PAGE, body: LabPage(await live(numbers)) });
      }
      const from = rangeBound(query.from);
      const to = rangeBound(query.to);
      const refuse = (status: number, message: string) =>
        page({
          ...LAB_PAGE,
          status,
          body: <Alert text={message} />,
        });
      if (Number.isNaN(from) || Number.isNaN(to) || (from !== undefined && to !== undefined && from >= to)) {
        return refuse(400, "from and to are times in ms since the epoch, from before to.");
      }
      const rangePage = async (snapshot: LabSnapshot) =>
        LabRangePage({ snapshot, charts: await renderCharts(snapshot) });
      if (query.run !== undefined) {
        const run = query.run;
        try {
          const body = await replays.get(JSON.stringify([run, from, to]), async () =>
            rangePage(await runSnapshot(experimentsDir(context), run, { from, to })),
          );
          return page({ ...LAB_PAGE, title: `Lab: ${run}`, body });
        } catch (error) {
          if (error instanceof RunNotFoundError) return refuse(404, error.message);
          throw error;
        }
      }
      if (from === undefined || to === undefined) return refuse(400, "A past range needs both from and to.");
      if (!prometheus) {
        return refuse(
          400,
          "A past range needs Prometheus (PROMETHEUS_URL, as bun run start --prometheus sets it) or a finished run (run=<experiment>/<run-id>).",
        );
      }
      try {
        return await page({ ...LAB_PAGE, body: await rangePage(await prometheus.snapshotOver(from, to)) });
      } catch (error) {
        return refuse(503, `Prometheus did not answer: ${error instanceof Error ? error.message : error}`);
      }
    })
    .get(WEB_ROUTES.labLive, async () => html(await LabLive(await live(numbers))));
};
