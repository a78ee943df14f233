import { MAX_PAGE_SIZE, type PageInput, PageOf, PageQuery } from "@lab/shared";
import { t } from "elysia";

const Level = t.Union([t.Literal("beginner"), t.Literal("intermediate"), t.Literal("advanced")]);

/** Fewer characters than this give pg_trgm no trigram to look up: such a search would read every course. */
export const MIN_SEARCH_CHARS = 3;

export const ListQuery = t.Object({
  q: t.Optional(
    t.String({
      maxLength: 100,
      description: `Case-insensitive substring of title or description; % and _ are literal. Blank lists every course; otherwise at least ${MIN_SEARCH_CHARS} characters once trimmed (422 if fewer)`,
    }),
  ),
  level: t.Optional(Level),
  ...PageQuery.properties,
});

export const CreateCourseBody = t.Object({
  title: t.String({ minLength: 1, maxLength: 200 }),
  description: t.String({ maxLength: 5000 }),
  level: Level,
  price_cents: t.Integer({ minimum: 0, maximum: 100_000_000 }),
  duration_hours: t.Integer({ minimum: 1, maximum: 10_000 }),
});

export const Course = t.Object({
  id: t.Integer(),
  title: t.String(),
  description: t.String(),
  level: Level,
  price_cents: t.Integer(),
  duration_hours: t.Integer(),
  teacher_id: t.Integer(),
  teacher_name: t.String(),
  created_at: t.Date(),
});

/** A page without a total: counting an unindexed ILIKE would scan the table on every request. */
export const CoursePage = PageOf(Course);

export const CourseIdParams = t.Object({ id: t.Integer({ minimum: 1, maximum: 2_147_483_647 }) });

/** A plain pattern rather than t.Array: Elysia's array-query decoding fails outside the validation error shape. */
export const BatchQuery = t.Object({
  ids: t.String({
    pattern: `^[1-9][0-9]{0,9}(,[1-9][0-9]{0,9}){0,${MAX_PAGE_SIZE - 1}}$`,
    description: `Up to ${MAX_PAGE_SIZE} comma-separated course ids, e.g. ids=1,2,3`,
  }),
});

/** The courses that exist among the ids asked for, by id; unknown ids are left out. */
export const CourseBatch = t.Object({ items: t.Array(Course) });

export type ListInput = typeof ListQuery.static & PageInput;
export type CreateCourseInput = typeof CreateCourseBody.static;
export type CourseRow = typeof Course.static;
export type CoursePageRow = typeof CoursePage.static;
export type Level = typeof Level.static;
