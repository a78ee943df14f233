import { type TSchema, t } from "elysia";

export const MAX_PAGE_SIZE = 100;

/**
 * `?limit=&offset=` of every paged list. Optional to the caller (and so documented): Elysia fills in
 * the defaults before the handler runs.
 */
export const PageQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20 })),
  offset: t.Optional(t.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
});
/** A page as a handler holds it, the defaults filled in. */
export type PageInput = Required<typeof PageQuery.static>;

/** The handler's query, typed as Elysia hands it over: `limit` and `offset` hold their defaults when not sent. */
export const withPageDefaults = <Query extends typeof PageQuery.static>(query: Query) => query as Query & PageInput;

/** A page without a total: `has_more` comes from fetching one row more than asked (see pageOf). */
export const PageOf = <Item extends TSchema>(item: Item) =>
  t.Object({ items: t.Array(item), limit: t.Integer(), offset: t.Integer(), has_more: t.Boolean() });

/** Turns the `limit + 1` rows a query fetched into a page. */
export const pageOf = <Row>(rows: Row[], { limit, offset }: PageInput) => ({
  items: rows.slice(0, limit),
  limit,
  offset,
  has_more: rows.length > limit,
});
