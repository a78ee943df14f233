import { type AuthUser, type Db, notFound } from "@lab/shared";
import type { CourseRow, CreateCourseInput, ListInput } from "./model";

/** `%` and `_` typed by a user match themselves: escape them (and the escape character) for ILIKE. */
export const containsPattern = (q: string) => `%${q.replace(/[\\%_]/g, "\\$&")}%`;

export class CourseService {
  constructor(private readonly db: Db) {}

  async list({ q, level, limit, offset }: ListInput) {
    const sql = this.db.sql;
    const term = q?.trim();
    const search = term ? containsPattern(term) : null;
    // One row more than asked tells whether another page exists, without a COUNT(*) over the filter.
    const rows = await this.db.query<CourseRow>`
      SELECT id, title, description, level, price_cents, duration_hours, teacher_id, teacher_name, created_at
      FROM courses
      WHERE true
        ${search ? sql`AND (title ILIKE ${search} OR description ILIKE ${search})` : sql``}
        ${level ? sql`AND level = ${level}` : sql``}
      ORDER BY created_at DESC, id DESC
      LIMIT ${limit + 1} OFFSET ${offset}`;
    return { items: rows.slice(0, limit), limit, offset, has_more: rows.length > limit };
  }

  async byId(id: number): Promise<CourseRow> {
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
    return course as CourseRow;
  }
}
