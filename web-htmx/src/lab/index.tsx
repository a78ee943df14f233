/** @jsxImportSource @kitajs/html */
import { join } from "node:path";
import { SERVICE_NAMES } from "@lab/shared";
import { WEB_ROUTES } from "@lab/shared/ui";
import { Elysia } from "elysia";
import type { WebContext } from "../context";
import { html } from "../http";
import { pages } from "../pages";
import { renderCharts } from "./charts";
import { RunNotFoundError, rangeBound, runSnapshot } from "./run";
import { LabNumbers, MetricsSource, PrometheusSource } from "./service";
import { LabLive, LabPage, LabRunPage } from "./views";

/** The Lab page's numbers for the platform's five services: Prometheus when PROMETHEUS_URL is set. */
function labNumbers(context: WebContext) {
  const direct = new MetricsSource(context.services.urls);
  const prometheusUrl = context.config.PROMETHEUS_URL?.replace(/\/+$/, "");
  const prometheus = prometheusUrl ? new PrometheusSource(prometheusUrl, SERVICE_NAMES) : undefined;
  return new LabNumbers(direct, prometheus);
}

async function live(numbers: LabNumbers) {
  const snapshot = await numbers.snapshot();
  return { snapshot, charts: await renderCharts(snapshot) };
}

/** Where finished runs are: EXPERIMENTS_DIR, or the repository's experiments/ beside web-htmx/. */
const experimentsDir = (context: WebContext) =>
  context.config.EXPERIMENTS_DIR ?? join(import.meta.dir, "../../../experiments");

/**
 * GET /lab: the active flags and live request rate, latency percentiles and error rates per service,
 * charts drawn on the server; GET /lab/live: the part HTMX polls every 2 s. GET /lab?run=<experiment>/<run-id>
 * (&from=&to=, ms since the epoch): the same page for a finished run, from its timeline, not polled.
 */
export const labController = (context: WebContext) => {
  const numbers = labNumbers(context);
  return new Elysia({ name: "web.lab" })
    .use(pages(context))
    .get(WEB_ROUTES.lab, async ({ page, query }) => {
      if (query.run === undefined) return page({ title: "Lab", body: LabPage(await live(numbers)) });
      const from = rangeBound(query.from);
      const to = rangeBound(query.to);
      const refuse = (status: number, message: string) =>
        page({
          title: "Lab",
          status,
          body: (
            <p class="error" role="alert" safe>
              {message}
            </p>
          ),
        });
      if (Number.isNaN(from) || Number.isNaN(to) || (from !== undefined && to !== undefined && from >= to)) {
        return refuse(400, "from and to are times in ms since the epoch, from before to.");
      }
      try {
        const snapshot = await runSnapshot(experimentsDir(context), query.run, { from, to });
        return page({
          title: `Lab: ${query.run}`,
          body: LabRunPage({ snapshot, charts: await renderCharts(snapshot) }),
        });
      } catch (error) {
        if (error instanceof RunNotFoundError) return refuse(404, error.message);
        throw error;
      }
    })
    .get(WEB_ROUTES.labLive, async () => html(await LabLive(await live(numbers))));
};
