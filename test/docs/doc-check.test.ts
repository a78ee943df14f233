import { describe, expect, test } from "bun:test";
import { SERVICE_NAMES } from "@lab/shared";
import { checkReferences, type Facts, normalisePath, parseMermaid, routeKey, scanDoc, serves } from "./doc-check";
import { envKeys, envValueProblem, pathExistsIn, repoIndex } from "./repo-facts";

/** Real variables and files; a small made-up route table, so each case shows what it checks. */
const facts: Facts = {
  routes: {
    course: new Set([
      routeKey("GET", "/healthz"),
      routeKey("GET", "/courses"),
      routeKey("GET", "/courses/{id}"),
      routeKey("POST", "/courses"),
    ]),
    enrollment: new Set([routeKey("GET", "/healthz"), routeKey("GET", "/enrollments/me")]),
    identity: new Set([routeKey("GET", "/healthz")]),
    payment: new Set([routeKey("GET", "/healthz")]),
    notification: new Set([routeKey("GET", "/healthz")]),
    web: new Set([routeKey("ALL", "/api/:service/*"), routeKey("GET", "/courses/:id")]),
  },
  envKeys,
  envValueProblem,
  toolVariables: new Set(["PG_PORT"]),
  generatedPaths: new Set(["experiments/<name>/results/<run-id>/report.md"]),
  pathExists: pathExistsIn(repoIndex()),
};

const problemsOf = (markdown: string, docDir = "docs/architecture") => {
  const scanned = scanDoc(markdown, SERVICE_NAMES);
  return [...scanned.problems, ...checkReferences(scanned.references, facts, docDir)].map(
    (problem) => `${problem.line}: ${problem.message}`,
  );
};

describe("routes", () => {
  test("parameters match by position whatever their name; the query and a trailing slash do not count", () => {
    expect(routeKey("get", "/courses/:id")).toBe("GET /courses/{}");
    expect(routeKey("GET", "/courses/{courseId}/")).toBe("GET /courses/{}");
    expect(routeKey("GET", "/courses?q=&limit=")).toBe("GET /courses");
  });

  test("a catch-all route serves the paths under it, and only those", () => {
    const web = facts.routes.web as ReadonlySet<string>;
    expect(serves(web, "GET", "/api/payment/payments/me")).toBe(true);
    expect(serves(web, "POST", "/api/course/courses")).toBe(true);
    expect(serves(web, "GET", "/api")).toBe(false);
    expect(serves(facts.routes.course as ReadonlySet<string>, "GET", "/courses/batch")).toBe(false);
  });
});

describe("a doc that names what exists passes", () => {
  test("endpoints by marker, table row and `every`; variables; paths; generated files; links", () => {
    const doc = [
      "<!-- service: course -->",
      "`GET /courses/:id` and `POST /courses {title}`, with `SEARCH_INDEX=trgm`, `CACHE`, `PG_PORT` and `<SERVICE>_URL`.",
      "| enrollment | `GET /enrollments/me` | `services/enrollment/src/enrollments/service.ts` |",
      "<!-- service: every --> `GET /healthz` · `services/<name>/migrations/` · `experiments/<name>/results/<run-id>/report.md`",
      "Headers are no variables: `X-Frame-Options: DENY`; commands are split: `bun run experiment 01-baseline`.",
      "See [01](01-overview.md) and [the README](../../README.md#architecture).",
    ].join("\n");
    expect(problemsOf(doc)).toEqual([]);
  });
});

describe("what is read as a variable or a path", () => {
  test("a one-letter word is a placeholder; an SQL statement's words, Redis commands and SQL words are no variables", () => {
    expect(problemsOf("`N` processes, `R` replicas, `WORKERS=N`, `SHOW STATS_TOTALS`, one `SELECT`, `INCR`")).toEqual(
      [],
    );
    expect(problemsOf("`WORKERS=many` and `STATS_TOTALS`")).toEqual([
      '1: `WORKERS=many`: config: WORKERS is invalid (expected integer), got "many"',
      "1: `STATS_TOTALS` is neither in EnvSchema nor a known tool variable",
    ]);
  });

  test("a path is read from the root, else from the doc's folder, else from its table row's folder", () => {
    expect(problemsOf("`../REPORT.md` and `flags.env` and `results/`", "experiments/01-baseline")).toEqual([]);
    expect(problemsOf("| `shared/` | `src/client.ts`, `src/ui/` |", "")).toEqual([]);
    expect(problemsOf("| `shared/` | `src/nowhere.ts` |\n| `shared/`, `web-htmx/` | `src/client.ts` |", "")).toEqual([
      "1: `src/nowhere.ts` does not exist in the repository",
      "2: `src/client.ts` does not exist in the repository",
    ]);
  });

  test("a path that leaves the repository from the doc's folder is a problem, whatever it names", () => {
    expect(problemsOf("`../../README.md` and `../outside/NOTES.md`", "docs")).toEqual([
      "1: `../../README.md` leaves the repository",
      "1: `../outside/NOTES.md` does not exist in the repository",
    ]);
    expect(problemsOf("`../outside/NOTES.md`", "")).toEqual(["1: `../outside/NOTES.md` leaves the repository"]);
  });
});

describe("a doc that names what does not exist fails", () => {
  test("a route the service does not have, or one named for the wrong service", () => {
    const doc = "<!-- service: course -->\n`GET /courses/batch` and `GET /enrollments/me`";
    expect(problemsOf(doc)).toEqual([
      "2: `GET /courses/batch` is not a route of the course service",
      "2: `GET /enrollments/me` is not a route of the course service",
    ]);
  });

  test("an endpoint with no service, or an unknown service marker", () => {
    expect(problemsOf("`GET /courses`")).toEqual([
      "1: `GET /courses` names no service: add <!-- service: NAME --> above it",
    ]);
    expect(problemsOf("<!-- service: search -->")).toEqual([
      '1: service marker "search" is not one of identity, course, enrollment, payment, notification, web, every',
    ]);
  });

  test("a variable that is not configuration, or a value the config refuses", () => {
    expect(problemsOf("`SEARCH_INDEKS` and `CACHE_TTL` and `REDIS`")).toEqual([
      "1: `SEARCH_INDEKS` is neither in EnvSchema nor a known tool variable",
      "1: `CACHE_TTL` is neither in EnvSchema nor a known tool variable",
      "1: `REDIS` is neither in EnvSchema nor a known tool variable",
    ]);
    const [refused] = problemsOf("`SEARCH_INDEX=btree`");
    expect(refused).toStartWith("1: `SEARCH_INDEX=btree`: config: SEARCH_INDEX is invalid");
  });

  test("a path, a folder or a link that is not there", () => {
    expect(
      problemsOf("`services/course/src/search.ts`, `shared/src/config.ts/`, `nowhere.md`, [x](06-next.md)"),
    ).toEqual([
      "1: `services/course/src/search.ts` does not exist in the repository",
      "1: `shared/src/config.ts/` does not exist in the repository",
      "1: `nowhere.md` does not exist in the repository",
      "1: link to 06-next.md, which does not exist",
    ]);
  });

  test("a Mermaid block that does not parse, or an endpoint in it the target does not serve", () => {
    const doc = [
      "```mermaid",
      "sequenceDiagram",
      "  participant W as web",
      "  participant C as course :8002",
      "  W->>C: GET /courses/batch",
      "  W->>X: hello",
      "```",
    ].join("\n");
    expect(problemsOf(doc)).toEqual([
      '6: participant "X" is not declared',
      "5: `GET /courses/batch` is not a route of the course service",
    ]);
    expect(problemsOf("```mermaid\nflowhcart LR\n  a --> b\n```")).toEqual([
      '2: not a known Mermaid diagram type: "flowhcart LR"',
    ]);
    expect(problemsOf("```mermaid\nflowchart LR\n")).toEqual(["1: code fence opened here is never closed"]);
  });
});

describe("Mermaid", () => {
  test("a flowchart: nodes declared inline or alone, & groups, labelled edges, subgraphs", () => {
    const result = parseMermaid(
      [
        "flowchart LR",
        "  %% a comment",
        "  web[web :3000]",
        "  subgraph data [Databases]",
        "    pg[(PostgreSQL)]",
        "  end",
        "  browser([Browser]) -->|pages| web",
        "  web -->|GET /courses/:id| course[course :8002] & pg",
        "  course -.->|cache| redis[(Redis)]",
        "  web -- text label --> data",
      ].join("\n"),
    );
    expect(result.problems).toEqual([]);
    expect(result.endpoints).toEqual([
      { line: 8, endpoint: { method: "GET", path: "/courses/:id", service: "course" } },
      { line: 8, endpoint: { method: "GET", path: "/courses/:id", service: null } },
    ]);
  });

  test("a flowchart edge to a node declared nowhere, a statement it cannot read, an open subgraph", () => {
    const result = parseMermaid(
      ["flowchart TD", "  a[A] --> b", "  a[A] -->", "  subgraph s", "  a --> c[C]"].join("\n"),
    );
    expect(result.problems.map((problem) => `${problem.line}: ${problem.message}`)).toEqual([
      '3: cannot read this flowchart statement: "a[A] -->"',
      "5: 1 subgraph(s) not closed with `end`",
      '2: edge names node "b", which is declared nowhere',
    ]);
  });

  test("a sequence diagram: blocks balance, `else` only in `alt`, notes name declared participants", () => {
    const good = parseMermaid(
      [
        "sequenceDiagram",
        "  actor S as Student",
        "  participant E as enrollment",
        "  alt paid",
        "    S->>+E: POST /enrollments",
        "  else free",
        "    S-)E: POST /enrollments",
        "  end",
        "  Note over S,E: done",
        "  E-->>-S: 201",
      ].join("\n"),
    );
    expect(good.problems).toEqual([]);
    expect(good.endpoints.map((each) => each.endpoint.service)).toEqual(["enrollment", "enrollment"]);

    const bad = parseMermaid(
      ["sequenceDiagram", "  participant A", "  else", "  loop x", "  Note over A,Z: hi", "  A => A"].join("\n"),
    );
    expect(bad.problems.map((problem) => `${problem.line}: ${problem.message}`)).toEqual([
      "3: `else` outside an `alt` block",
      '5: participant "Z" is not declared',
      '6: cannot read this sequence diagram line: "A => A"',
      "6: block(s) not closed: loop",
    ]);
  });
});

test("normalisePath resolves `..` and refuses to leave the repository", () => {
  expect(normalisePath("docs/architecture/../../README.md")).toBe("README.md");
  expect(normalisePath("docs/../../outside.md")).toBeNull();
});
