import { HTML_CONTENT_TYPE, wantsHtml } from "@lab/shared";
import { webLinks } from "@lab/shared/ui";

/**
 * A request HTMX makes to swap part of a page. A history restore (Back to a pushed URL) is also
 * made by HTMX but needs the whole page, and so does every request without JavaScript.
 */
export const isFragmentRequest = (request: Request) =>
  wantsHtml(request) && request.headers.get("hx-history-restore-request") !== "true";

/** Pages differ by HX-Request and by who is signed in: no shared cache may keep them. */
export const PAGE_HEADERS = {
  "content-type": HTML_CONTENT_TYPE,
  "cache-control": "no-store",
  vary: "HX-Request, Cookie",
};

export const html = (body: string, status = 200, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { ...PAGE_HEADERS, ...headers } });

export const fullPage = (body: string, status = 200) => html(`<!doctype html>${body}`, status);

/**
 * After a form: a 303 to the next page for a browser without JavaScript (Post/Redirect/Get);
 * for HTMX an HX-Redirect, since fetch would otherwise follow the 303 and swap a whole page in.
 */
export function seeOther(request: Request, location: string) {
  if (wantsHtml(request)) return new Response(null, { status: 204, headers: { "hx-redirect": location } });
  return new Response(null, { status: 303, headers: { location, "cache-control": "no-store" } });
}

/** Stands for this site's origin: a `next` that resolves against it to another origin leaves the site. */
const THIS_SITE = "http://this-site.invalid";

/**
 * Where a form may send the user after signing in: only a path of this site, as a URL parser reads
 * it (browsers drop tabs and newlines and read `\` as `/`, so `/\t/evil.example` is another host).
 * The answer is the parsed form, percent-encoded as a Location header must be; a control character
 * anywhere, a host that does not parse (`/\evil.example:99999`), or a parsed path starting with `//`
 * (a host again in a Location) falls back to the catalog.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/") || /\p{Cc}/u.test(next)) return webLinks.catalog();
  const url = URL.parse(next, THIS_SITE);
  if (url?.origin !== THIS_SITE || url.pathname.startsWith("//")) return webLinks.catalog();
  return `${url.pathname}${url.search}${url.hash}`;
}
