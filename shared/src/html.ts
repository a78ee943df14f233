import { Elysia, StatusMap } from "elysia";

export const HTML_CONTENT_TYPE = "text/html; charset=utf-8";

/** HTMX marks its requests: they get the HTML fragment of a resource instead of its JSON. */
export const wantsHtml = (request: Request) => request.headers.get("hx-request") === "true";

/** What a fragment view is given besides the handler's value, e.g. the query to build paging links. */
export type FragmentContext = {
  query: Record<string, string | undefined>;
  params: Record<string, string>;
  request: Request;
};
/** Renders a route's JSON value as HTML; user text inside must be escaped (`safe` in JSX). */
export type FragmentView = (value: any, context: FragmentContext) => JSX.Element;

const statusCode = (status: number | string | undefined) =>
  typeof status === "number"
    ? status
    : status === undefined
      ? 200
      : (StatusMap[status as keyof typeof StatusMap] ?? 200);

function headersOf(set: { headers: Record<string, unknown> }) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(set.headers)) {
    if (typeof value === "string") headers.set(name, value);
  }
  return headers;
}

async function renderFragment(
  view: FragmentView,
  value: unknown,
  context: FragmentContext,
  status: number,
  headers: Headers,
) {
  headers.set("content-type", HTML_CONTENT_TYPE);
  return new Response(await view(value, context), { status, headers });
}

/**
 * The `fragment` route option: `{ fragment: CourseCard }` answers an `HX-Request: true` caller with
 * the view's HTML and everyone else with the JSON the handler returned (still checked by the
 * route's response schema). Errors are left to the service's error handler, which has its own
 * fragment. Both representations say `Vary: HX-Request` so no cache hands one to the other's caller.
 *
 * The hook is not an async function, and returns the rendering's promise instead of awaiting it:
 * Elysia awaits a hook it reads as async on every request, JSON callers' too.
 */
export const htmlFragments = new Elysia({ name: "lab.html-fragments" }).macro({
  fragment: (view: FragmentView) => ({
    mapResponse({ request, responseValue, set, query, params }) {
      // a Response carries its own headers (see jsonAnswer): Vary goes on it rather than into a copy of it
      if (responseValue instanceof Response) {
        responseValue.headers.set("vary", "HX-Request");
        return;
      }
      set.headers.vary = "HX-Request";
      const status = statusCode(set.status);
      if (!wantsHtml(request) || status >= 300) return;
      const context = { query, params: params as Record<string, string>, request };
      // through a variable: `return renderFragment(…)` would make Elysia read the hook as async
      const rendering = renderFragment(view, responseValue, context, status, headersOf(set));
      return rendering;
    },
  }),
});

const priceFormat = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

/** Prices are integer cents everywhere; people read dollars, and a price of zero reads "Free". */
export const formatPrice = (cents: number) => (cents === 0 ? "Free" : priceFormat.format(cents / 100));

const dateFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  timeZone: "UTC",
});
export const formatDate = (value: Date | string) => dateFormat.format(new Date(value));

/** Query string of the non-empty values, for links that keep a search while paging. */
export function queryString(values: Record<string, string | number | undefined>) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}
