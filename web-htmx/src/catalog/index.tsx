/** @jsxImportSource @kitajs/html */
import { queryString } from "@lab/shared";
import { WEB_ROUTES } from "@lab/shared/ui";
import { Elysia, t } from "elysia";
import type { WebContext } from "../context";
import { html, isFragmentRequest } from "../http";
import { pages } from "../pages";
import { CatalogPage, LEVELS } from "./views";

export const CATALOG_PAGE_SIZE = 12;

const CatalogQuery = t.Object({
  q: t.Optional(t.String()),
  level: t.Optional(t.String()),
  offset: t.Optional(t.String()),
});

/**
 * The catalog: the course service renders the results (cards and paging links); this page adds the
 * search form. HTMX asks for the results alone as the user types and pushes the URL, so a search
 * can be bookmarked and Back works; without JavaScript the same form submits and reloads the page.
 */
export const catalogController = (context: WebContext) =>
  new Elysia({ name: "web.catalog" }).use(pages(context)).get(
    WEB_ROUTES.catalog,
    async ({ page, query, request }) => {
      const q = (query.q ?? "").trim().slice(0, 100);
      const level = LEVELS.some((l) => l.value === query.level) ? (query.level as string) : "";
      const offset = Math.min(Math.max(Number.parseInt(query.offset ?? "0", 10) || 0, 0), 1_000_000);
      const results = await context.services.fragment(
        "course",
        `/courses${queryString({ q, level, limit: CATALOG_PAGE_SIZE, offset })}`,
      );
      if (isFragmentRequest(request)) return html(results.html, results.status);
      return page({
        title: q ? `Courses matching “${q}”` : "Catalog",
        description: q
          ? `Courses on Coursework Lab matching “${q}”: titles, levels, prices and teachers.`
          : "Browse the Coursework Lab catalog: search courses by topic, filter by level, and enroll in free or paid courses.",
        status: results.status,
        body: <CatalogPage q={q} level={level} results={results.html} />,
      });
    },
    { query: CatalogQuery },
  );
