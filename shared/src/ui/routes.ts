import { queryString } from "../html";

/**
 * The web app's pages, each path once: web-htmx mounts these patterns and everything that links to
 * a page (the services' fragments included) builds its path with `webLinks`, so renaming a page is
 * an edit of this file alone. web-htmx/test/web.test.ts checks every entry is a route the app serves.
 */
export const WEB_ROUTES = {
  catalog: "/",
  login: "/login",
  register: "/register",
  logout: "/logout",
  newCourse: "/courses/new",
  course: "/courses/:id",
  enroll: "/courses/:id/enroll",
  myCourses: "/my-courses",
  notifications: "/notifications",
  readNotification: "/notifications/:id/read",
  lab: "/lab",
  labLive: "/lab/live",
} as const;

export type WebRoute = keyof typeof WEB_ROUTES;

declare const webPathBrand: unique symbol;
/** A path of one of the web app's pages; only `webLinks` makes one, and the kit links nowhere else. */
export type WebPath = string & { readonly [webPathBrand]: true };

type Query = Record<string, string | number | undefined>;

function link(route: WebRoute, params: Record<string, number> = {}, query: Query = {}): WebPath {
  const path = WEB_ROUTES[route].replace(/:(\w+)/g, (_, name: string) => String(params[name]));
  return `${path}${queryString(query)}` as WebPath;
}

/** The catalog's search, kept across its pages; offset 0 is left out, so page one has one address. */
export type CatalogQuery = { q?: string; level?: string; offset?: number };

export const webLinks = {
  catalog: ({ q, level, offset }: CatalogQuery = {}) => link("catalog", {}, { q, level, offset: offset || undefined }),
  /** `next`: where to go once signed in. */
  login: (next?: string) => link("login", {}, { next }),
  register: () => link("register"),
  logout: () => link("logout"),
  newCourse: () => link("newCourse"),
  course: (id: number) => link("course", { id }),
  enroll: (courseId: number) => link("enroll", { id: courseId }),
  myCourses: ({ offset, limit }: { offset?: number; limit?: string } = {}) =>
    link("myCourses", {}, { offset: offset || undefined, limit }),
  notifications: () => link("notifications"),
  readNotification: (id: number) => link("readNotification", { id }),
  lab: () => link("lab"),
  labLive: () => link("labLive"),
} satisfies Record<WebRoute, (...args: never[]) => WebPath>;

/** The id of the catalog's results: its search form and its paging links replace that element. */
export const CATALOG_RESULTS_ID = "results";
