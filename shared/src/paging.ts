import { type TSchema, t } from "elysia";

export const MAX_PAGE_SIZE = 100;

/** `?limit=&offset=` of every paged list, as the course catalog takes them. */
export const PageQuery = t.Object({
  limit: t.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20 }),
  offset: t.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});
export type PageInput = typeof PageQuery.static;

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
