import { Db, type DbOptions } from "@lab/shared";
import { NoCache } from "@lab/shared/cache";
import { CourseService } from "../../services/course/src/courses/service";

/**
 * A Db that EXPLAINs (ANALYZE, BUFFERS) each query instead of returning its rows, so a plan is taken
 * of exactly the SQL the service's own code builds, not of a copy that could drift from it.
 */
class ExplainingDb extends Db {
  readonly plans: string[] = [];

  constructor(options: DbOptions) {
    super(options);
    this.query = <Row>(strings: TemplateStringsArray, ...values: unknown[]) =>
      this.run(async (sql) => {
        const explained = [`EXPLAIN (ANALYZE, BUFFERS) ${strings[0]}`, ...strings.slice(1)];
        // bun:sql takes only template objects: frozen, with a non-enumerable `raw`.
        Object.defineProperty(explained, "raw", { value: explained });
        const rows: { "QUERY PLAN": string }[] = await sql(
          Object.freeze(explained) as unknown as TemplateStringsArray,
          ...values,
        );
        this.plans.push(rows.map((row) => row["QUERY PLAN"]).join("\n"));
        return [] as Row[];
      });
  }
}

export const SEARCH_PAGE = 20;

/** The plans of the catalog search (`GET /courses?q=…`, first page) for each term, as text. */
export async function explainSearch(courseDatabaseUrl: string, terms: Record<string, string>): Promise<string> {
  const db = new ExplainingDb({ url: courseDatabaseUrl, max: 1, acquireTimeoutMs: 60_000, prepare: false });
  const courses = new CourseService(db, new NoCache());
  const sections: string[] = [];
  try {
    for (const [label, term] of Object.entries(terms)) {
      await courses.list({ q: term, limit: SEARCH_PAGE, offset: 0 });
      sections.push(
        `-- ${label} term: GET /courses?q=${encodeURIComponent(term)}&limit=${SEARCH_PAGE}\n${db.plans.at(-1) ?? ""}`,
      );
    }
  } finally {
    await db.close();
  }
  return `${sections.join("\n\n")}\n`;
}
