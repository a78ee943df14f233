import {
  type AuthUser,
  type Config,
  type Db,
  isStatementTimeout,
  notFound,
  pageOf,
  responseCheck,
  Slots,
  serviceUnavailable,
  unprocessable,
} from "@lab/shared";
import type { Cache } from "@lab/shared/cache";
import {
  Course,
  type CoursePageRow,
  type CourseRow,
  type CreateCourseInput,
  type ListInput,
  MIN_SEARCH_CHARS,
} from "./model";

/** `%` and `_` typed by a user match themselves: escape them (and the escape character) for ILIKE. */
export const containsPattern = (q: string) => `%${q.replace(/[\\%_]/g, "\\$&")}%`;

/** Every cached list page belongs to this group: creating a course drops them all at once. */
const LIST_GROUP = "courses:list";

/** GET /courses/:id answers JSON callers with the stored text, so the row is checked before it is stored. */
const checkedCourse = responseCheck(Course, "course");

/** The cache holds JSON: dates come back as ISO strings and are turned into Dates again. */
const reviveCourse = (course: CourseRow): CourseRow => ({ ...course, created_at: new Date(course.created_at) });

/** What bounds one process's searches: how long each may run, and how many run at once. */
export type SearchLimits = { timeoutMs: number; slots: Slots };

/**
 * SEARCH_TIMEOUT_MS and SEARCH_MAX_CONCURRENT (unset: half the pool, rounded up) as the service
 * holds them; a search that waits DB_ACQUIRE_TIMEOUT_MS for its turn is a 503, as for a connection.
 */
export function searchLimits(config: Config): SearchLimits {
  const max = config.SEARCH_MAX_CONCURRENT ?? Math.ceil(config.DB_POOL_MAX / 2);
  const waitMs = config.DB_ACQUIRE_TIMEOUT_MS;
  return {
    timeoutMs: config.SEARCH_TIMEOUT_MS,
    slots: new Slots(max, waitMs, () =>
      serviceUnavailable(`Search busy: ${max} searches stayed under way for ${waitMs} ms. Please try again.`, 1),
    ),
  };
}

/**
 * With CACHE=redis, list pages and courses by id are read through the cache (TTL
 * CACHE_TTL_SECONDS). A course never changes after it is created (there is no update or delete),
 * so an entry by id cannot go stale; a new course changes every list page, so `create` drops
 * them all. Unknown ids (404) are not cached: the id may be created a moment later.
 *
 * A search reads what its index cannot narrow down (every course, without SEARCH_INDEX=trgm), so
 * its cost is bounded (`SearchLimits`): a term needs MIN_SEARCH_CHARS characters, a search runs
 * within its own statement timeout, and only so many run at once, leaving the rest of the pool to
 * the catalog's browsing.
 */
export class CourseService {
  constructor(
    private readonly db: Db,
    private readonly cache: Cache,
    private readonly search: SearchLimits,
  ) {}

  list(input: ListInput): Promise<CoursePageRow> {
    const { q, level, limit, offset } = input;
    const term = q?.trim() ?? "";
    if (term && [...term].length < MIN_SEARCH_CHARS) {
      throw unprocessable("q", `a search needs at least ${MIN_SEARCH_CHARS} characters`);
    }
    return this.cache.remember({
      group: LIST_GROUP,
      key: JSON.stringify([term, level ?? "", limit, offset]),
      load: () => (term ? this.searchFromDb(term, input) : this.pageFromDb(this.db.query, null, input)),
      decode: (page: CoursePageRow) => ({ ...page, items: page.items.map(reviveCourse) }),
    });
  }

  /** A search page: its turn among SEARCH_MAX_CONCURRENT, then its query within SEARCH_TIMEOUT_MS. */
  private async searchFromDb(term: string, input: ListInput): Promise<CoursePageRow> {
    const { timeoutMs, slots } = this.search;
    try {
      return await slots.run(() => this.pageFromDb(this.db.queryWithin(timeoutMs), containsPattern(term), input));
    } catch (error) {
      if (!isStatementTimeout(error)) throw error;
      throw serviceUnavailable(
        `The search took longer than ${timeoutMs} ms and was stopped. Please try a more specific term.`,
      );
    }
  }

  private async pageFromDb(
    query: Db["query"],
    search: string | null,
    { level, limit, offset }: ListInput,
  ): Promise<CoursePageRow> {
    const sql = this.db.sql;
    const rows = await query<CourseRow>`
      SELECT id, title, description, level, price_cents, duration_hours, teacher_id, teacher_name, created_at
      FROM courses
      WHERE true
        ${search ? sql`AND (title ILIKE ${search} OR description ILIKE ${search})` : sql``}
        ${level ? sql`AND level = ${level}` : sql``}
      ORDER BY created_at DESC, id DESC
      LIMIT ${limit + 1} OFFSET ${offset}`;
    return pageOf(rows, { limit, offset });
  }

  byId(id: number): Promise<CourseRow> {
    return this.cache.remember({ key: `courses:id:${id}`, load: () => this.byIdFromDb(id), decode: reviveCourse });
  }

  /** The course as the JSON text GET /courses/:id answers: a cache hit is sent as stored, never parsed. */
  byIdJson(id: number): Promise<string> {
    return this.cache.rememberJson({ key: `courses:id:${id}`, load: () => this.byIdFromDb(id).then(checkedCourse) });
  }

  private async byIdFromDb(id: number): Promise<CourseRow> {
    const [course] = await this.db.query<CourseRow>`
      SELECT id, title, description, level, price_cents, duration_hours, teacher_id, teacher_name, created_at
      FROM courses WHERE id = ${id}`;
    if (!course) throw notFound("Course");
    return course;
  }

  /** Several courses in one query, for callers that would otherwise ask for them one by one. */
  async byIds(ids: number[]): Promise<{ items: CourseRow[] }> {
    const items = await this.db.query<CourseRow>`
      SELECT id, title, description, level, price_cents, duration_hours, teacher_id, teacher_name, created_at
      FROM courses WHERE id IN ${this.db.sql([...new Set(ids)])}
      ORDER BY id`;
    return { items };
  }

  async create(input: CreateCourseInput, teacher: AuthUser): Promise<CourseRow> {
    const [course] = await this.db.query<CourseRow>`
      INSERT INTO courses (title, description, level, price_cents, duration_hours, teacher_id, teacher_name)
      VALUES (${input.title.trim()}, ${input.description.trim()}, ${input.level}, ${input.price_cents},
              ${input.duration_hours}, ${teacher.id}, ${teacher.name})
      RETURNING id, title, description, level, price_cents, duration_hours, teacher_id, teacher_name, created_at`;
    await this.cache.invalidate(LIST_GROUP);
    return course as CourseRow;
  }
}
