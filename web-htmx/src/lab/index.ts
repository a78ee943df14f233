import { SERVICE_NAMES } from "@lab/shared";
import { WEB_ROUTES } from "@lab/shared/ui";
import { Elysia } from "elysia";
import type { WebContext } from "../context";
import { html } from "../http";
import { pages } from "../pages";
import { renderCharts } from "./charts";
import { LabNumbers, MetricsSource, PrometheusSource } from "./service";
import { LabLive, LabPage } from "./views";

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

/**
 * GET /lab: the active flags and live request rate, latency percentiles and error rates per service,
 * charts drawn on the server; GET /lab/live: the part HTMX polls every 2 s.
 */
export const labController = (context: WebContext) => {
  const numbers = labNumbers(context);
  return new Elysia({ name: "web.lab" })
    .use(pages(context))
    .get(WEB_ROUTES.lab, async ({ page }) => page({ title: "Lab", body: LabPage(await live(numbers)) }))
    .get(WEB_ROUTES.labLive, async () => html(await LabLive(await live(numbers))));
};
