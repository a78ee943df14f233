/**
 * Reads a Markdown document for the facts it names — endpoints, environment variables, file paths,
 * relative links and Mermaid diagrams — and checks them against what the code has. Pure functions
 * over plain inputs, so a wrong doc and a wrong checker can both be shown with small examples.
 *
 * What counts as a reference (outside fenced code blocks, which are quoted output or commands):
 * - an endpoint: an inline code span starting `METHOD /path` (`GET /courses/:id`, `POST /enrollments {…}`),
 *   or a Mermaid message or edge label `METHOD /path`. Its service is the row's first cell in a table
 *   row (`| course | …`), else the last `<!-- service: NAME -->` marker above it; in a Mermaid diagram,
 *   the first word of the label of the participant or node the arrow points at.
 * - a variable: a whitespace-separated token of a code span that is UPPER_SNAKE, optionally `=value`
 *   (`SEARCH_INDEX=trgm`); `<SERVICE>_URL` stands for the five `IDENTITY_URL` … `NOTIFICATION_URL`.
 *   Not variables: one capital letter, a placeholder (`N` processes; `WORKERS=N` leaves the value
 *   unchecked), and the words of a span that starts with an SQL command (`SHOW STATS_TOTALS`).
 * - a path: a token of a code span that is relative (not `/…`, no `:`, no `=`) and contains `/` or
 *   ends in a known file extension; `<name>` and `*` are wildcards, a trailing `/` means a folder.
 *   It is read from the repository's root, else from the document's folder (`../REPORT.md` in
 *   experiments/01-baseline/), else — in a table row whose first cell is a folder (`| `shared/` |`) —
 *   from that folder; read from the document's folder it must not leave the repository.
 * - a link: a Markdown link or image with a relative target, resolved from the document's folder.
 */

export const SERVICE_LIKE = ["identity", "course", "enrollment", "payment", "notification", "web"] as const;
/** What a `<!-- service: NAME -->` marker may name: a service, the web app, or `every` (all five services). */
export const EVERY_SERVICE = "every";
const SERVICE_MARKERS: readonly string[] = [...SERVICE_LIKE, EVERY_SERVICE];

const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ALL"] as const;
/** Upper-case words of code spans that are SQL, Redis commands, HTTP or Dockerfile instructions, not environment variables. */
const NOT_VARIABLES = new Set<string>([
  ...HTTP_METHODS,
  ...["SELECT", "ILIKE", "EXPLAIN", "ANALYZE", "BUFFERS", "COPY", "FREEZE"],
  ...["INCR", "PEXPIRE"],
  "HEALTHCHECK",
]);
/** A code span that is an SQL statement (or PgBouncer's admin `SHOW …`): its upper-case words are SQL. */
const SQL_STATEMENT = /^(SELECT|SHOW|EXPLAIN|COPY|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP)\s/;
/** A one-letter upper-case word: a placeholder for a number (`N` replicas), never a variable of this project. */
const PLACEHOLDER = /^[A-Z]$/;
const FILE_EXTENSION = /\.(ts|tsx|js|md|sql|json|ya?ml|env|py|toml|sh|css|png|svg|csv|txt|prom|lock|ini|html)$/;

export type Endpoint = { method: string; path: string; service: string | null };
export type Reference =
  | ({ kind: "endpoint"; line: number } & Endpoint)
  | { kind: "variable"; name: string; value?: string; line: number }
  | { kind: "path"; path: string; line: number; rowFolder?: string }
  | { kind: "link"; target: string; line: number };
export type MermaidBlock = { line: number; source: string };
export type Problem = { line: number; message: string };

/** `GET` + `/courses/:id?x=1` → `GET /courses/{}`: parameters by position, not name; no query, no trailing slash. */
export function routeKey(method: string, path: string): string {
  const bare = path.split(/[?#]/)[0] ?? "";
  const normalised = bare
    .split("/")
    .map((segment) => (/^:\w+$|^\{\w+\}$/.test(segment) ? "{}" : segment))
    .join("/")
    .replace(/(.)\/+$/, "$1");
  return `${method.toUpperCase()} ${normalised || "/"}`;
}

const ENDPOINT = new RegExp(`^(${HTTP_METHODS.join("|")})\\s+(/\\S*)`);

/** `METHOD /path` at the start of a text, or null. */
export function endpointIn(text: string): { method: string; path: string } | null {
  const match = ENDPOINT.exec(text.trim());
  return match ? { method: match[1] as string, path: match[2] as string } : null;
}

const serviceOfLabel = (label: string): string | null => {
  const word = label
    .replace(/<[^>]*>/g, " ")
    .trim()
    .split(/[\s:]+/)[0]
    ?.toLowerCase();
  return word && (SERVICE_LIKE as readonly string[]).includes(word) ? word : null;
};

/**
 * Variable references of one code-span token: `NAME_WITH_UNDERSCORE`, `NAME=value`, `<SERVICE>_NAME`,
 * or a single upper-case word (`CACHE`) when it is the whole span — inside a longer span such a word is
 * more likely a header value or an argument (`X-Frame-Options: DENY`).
 */
function variablesOf(token: string, wholeSpan: boolean, services: readonly string[]) {
  const match = /^((?:<SERVICE>)?[A-Z0-9_]*[A-Z][A-Z0-9_]*)(?:=(\S*))?$/.exec(token);
  if (!match) return [];
  const [, name = "", written] = match;
  if (PLACEHOLDER.test(name)) return [];
  if (written === undefined && (NOT_VARIABLES.has(name) || (!name.includes("_") && !wholeSpan))) return [];
  const value = written !== undefined && PLACEHOLDER.test(written) ? undefined : written;
  const names = name.startsWith("<SERVICE>")
    ? services.map((service) => name.replace("<SERVICE>", service.toUpperCase()))
    : [name];
  return names.map((each) => (value === undefined ? { name: each } : { name: each, value }));
}

function isPathToken(token: string): boolean {
  if (token.startsWith("/") || token.startsWith("-") || /[:=|@()'"`,;{}]/.test(token)) return false;
  return token.includes("/") || FILE_EXTENSION.test(token);
}

export type ScannedDoc = { references: Reference[]; mermaid: MermaidBlock[]; problems: Problem[] };

/**
 * Every reference of a Markdown document, its Mermaid blocks, and the problems found while reading
 * (a Mermaid block that does not parse, an unknown service marker, an unclosed code fence).
 */
export function scanDoc(markdown: string, services: readonly string[]): ScannedDoc {
  const references: Reference[] = [];
  const mermaid: MermaidBlock[] = [];
  const problems: Problem[] = [];
  let service: string | null = null;
  let fence: { char: string; length: number; mermaid: boolean; start: number; body: string[] } | null = null;

  for (const [index, line] of markdown.split("\n").entries()) {
    const number = index + 1;
    if (fence) {
      const closing = /^\s*(`{3,}|~{3,})\s*$/.exec(line)?.[1];
      if (closing?.startsWith(fence.char) && closing.length >= fence.length) {
        if (fence.mermaid) {
          const source = fence.body.join("\n");
          mermaid.push({ line: fence.start, source });
          const parsed = parseMermaid(source);
          for (const problem of parsed.problems) problems.push({ ...problem, line: fence.start + problem.line });
          for (const { line: at, endpoint } of parsed.endpoints) {
            references.push({ kind: "endpoint", line: fence.start + at, ...endpoint });
          }
        }
        fence = null;
      } else {
        fence.body.push(line);
      }
      continue;
    }
    const opening = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
    if (opening) {
      const marker = opening[1] as string;
      fence = {
        char: marker[0] as string,
        length: marker.length,
        mermaid: opening[2] === "mermaid",
        start: number,
        body: [],
      };
      continue;
    }

    const row = line.trim().startsWith("|") ? line.trim().split("|")[1] : undefined;
    const rowService = row === undefined ? null : serviceOfLabel(row.replace(/[`*]/g, ""));
    const rowFolder = /^\s*`([^`\s]+\/)`\s*$/.exec(row ?? "")?.[1];

    // markers and code spans in the order they appear: a marker applies from where it stands
    for (const match of line.matchAll(/<!--\s*service:\s*([\w-]+)\s*-->|(`+)(.+?)\2/g)) {
      if (match[1] !== undefined) {
        service = match[1].toLowerCase();
        if (!SERVICE_MARKERS.includes(service)) {
          problems.push({
            line: number,
            message: `service marker "${service}" is not one of ${SERVICE_MARKERS.join(", ")}`,
          });
        }
        continue;
      }
      const span = (match[3] as string).trim();
      const endpoint = endpointIn(span);
      if (endpoint) references.push({ kind: "endpoint", line: number, ...endpoint, service: rowService ?? service });
      const tokens = span.split(/\s+/);
      const sql = SQL_STATEMENT.test(span);
      for (const token of tokens.slice(endpoint ? 2 : 0)) {
        for (const variable of sql ? [] : variablesOf(token, tokens.length === 1, services)) {
          references.push({ kind: "variable", line: number, ...variable });
        }
        if (isPathToken(token)) {
          references.push({ kind: "path", line: number, path: token, ...(rowFolder && { rowFolder }) });
        }
      }
    }
    for (const link of line.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = link[1] as string;
      if (!/^([a-z]+:|#)/i.test(target)) {
        references.push({ kind: "link", line: number, target: target.split("#")[0] as string });
      }
    }
  }
  if (fence) problems.push({ line: fence.start, message: "code fence opened here is never closed" });
  return { references, mermaid, problems };
}

// ---- Mermaid ----

const DIAGRAM_TYPES = [
  "flowchart",
  "graph",
  "sequenceDiagram",
  "classDiagram",
  "stateDiagram",
  "stateDiagram-v2",
  "erDiagram",
  "gantt",
  "pie",
  "journey",
  "gitGraph",
  "mindmap",
  "timeline",
];

export type MermaidResult = {
  type: string | null;
  problems: Problem[];
  /** Endpoints named in messages or edge labels, with the service the arrow points at; `line` is 1-based in the block. */
  endpoints: { line: number; endpoint: Endpoint }[];
};

/**
 * A structural check of a Mermaid block: a known diagram type; for flowcharts, every statement
 * parses and every node an edge names is declared with a label somewhere (an undeclared id would
 * render as a stray box named after the id), subgraphs closed; for sequence diagrams, every
 * participant used is declared, every message is well-formed and alt/opt/loop/par/… blocks balance.
 */
export function parseMermaid(source: string): MermaidResult {
  const lines = source.split("\n");
  const first = lines.findIndex((line) => line.trim() && !line.trim().startsWith("%%"));
  const header = first >= 0 ? (lines[first] as string).trim() : "";
  const type = DIAGRAM_TYPES.find((name) => header === name || header.startsWith(`${name} `)) ?? null;
  if (!type) {
    return {
      type: null,
      problems: [{ line: first + 1, message: `not a known Mermaid diagram type: "${header}"` }],
      endpoints: [],
    };
  }
  const body = lines.map((text, index) => ({ text: text.trim(), line: index + 1 })).slice(first + 1);
  if (type === "flowchart" || type === "graph") return { type, ...parseFlowchart(body) };
  if (type === "sequenceDiagram") return { type, ...parseSequence(body) };
  return { type, problems: [], endpoints: [] };
}

type Line = { text: string; line: number };

const NODE_SHAPES = [
  /^\(\(([^)]*)\)\)/,
  /^\[\(([^)]*)\)\]/,
  /^\(\[([^\]]*)\]\)/,
  /^\[\[([^\]]*)\]\]/,
  /^\{\{([^}]*)\}\}/,
  /^\[\/([^\]]*)\/\]/,
  /^\["([^"]*)"\]/,
  /^\("([^"]*)"\)/,
  /^\{"([^"]*)"\}/,
  /^\[([^\]"]*)\]/,
  /^\(([^)"]*)\)/,
  /^\{([^}"]*)\}/,
  /^>([^\]]*)\]/,
];
const LINK_WITH_TEXT = /^\s*(?:--|==|-\.)\s+([^|]+?)\s+(?:-{2,}>|={2,}>|\.->|-{3,})\s*/;
const LINK = /^\s*<?(?:-{2,}|={2,}|-\.+-)(?:>|x|o)?(?:\|([^|]*)\|)?\s*/;
const FLOWCHART_KEYWORDS = /^(classDef|class|style|linkStyle|click|direction)\b/;

function parseFlowchart(body: Line[]): Omit<MermaidResult, "type"> {
  const problems: Problem[] = [];
  const labels = new Map<string, string>();
  const edges: { from: string[]; to: string[]; label?: string; line: number }[] = [];
  let depth = 0;

  for (const { text, line } of body) {
    if (!text || text.startsWith("%%") || FLOWCHART_KEYWORDS.test(text)) continue;
    if (text === "end") {
      if (--depth < 0) problems.push({ line, message: "`end` without a subgraph" });
      continue;
    }
    const subgraph = /^subgraph\s+(\w+)\s*(?:\[([^\]]*)\])?\s*$/.exec(text) ?? /^subgraph\s+(.+)$/.exec(text);
    if (subgraph) {
      depth++;
      const [, id = "", label] = subgraph;
      if (/^\w+$/.test(id)) labels.set(id, label ?? id);
      continue;
    }
    let rest = text.replace(/;$/, "");
    let previous: string[] | null = null;
    let pendingLabel: string | undefined;
    let failed = false;
    while (rest.length > 0 && !failed) {
      const group: string[] = [];
      for (;;) {
        const id = /^([A-Za-z_]\w*)/.exec(rest)?.[1];
        if (!id || id === "end") {
          failed = true;
          break;
        }
        rest = rest.slice(id.length);
        const shape = NODE_SHAPES.map((pattern) => pattern.exec(rest)).find((match) => match);
        if (shape) {
          labels.set(id, (shape[1] as string).trim());
          rest = rest.slice(shape[0].length);
        }
        group.push(id);
        const and = /^\s*&\s*/.exec(rest);
        if (!and) break;
        rest = rest.slice(and[0].length);
      }
      if (failed) break;
      if (previous) edges.push({ from: previous, to: group, label: pendingLabel, line });
      previous = group;
      rest = rest.trimStart();
      if (!rest) break;
      const link = LINK_WITH_TEXT.exec(rest) ?? LINK.exec(rest);
      if (!link || link[0].trim() === "") {
        failed = true;
        break;
      }
      pendingLabel = link[1]?.trim();
      rest = rest.slice(link[0].length);
      if (!rest) failed = true;
    }
    if (failed) problems.push({ line, message: `cannot read this flowchart statement: "${text}"` });
  }
  if (depth > 0)
    problems.push({ line: body.at(-1)?.line ?? 0, message: `${depth} subgraph(s) not closed with \`end\`` });

  const endpoints: MermaidResult["endpoints"] = [];
  for (const edge of edges) {
    for (const id of [...edge.from, ...edge.to]) {
      if (!labels.has(id))
        problems.push({ line: edge.line, message: `edge names node "${id}", which is declared nowhere` });
    }
    const endpoint = edge.label ? endpointIn(edge.label) : null;
    if (!endpoint) continue;
    for (const id of edge.to) {
      endpoints.push({ line: edge.line, endpoint: { ...endpoint, service: serviceOfLabel(labels.get(id) ?? "") } });
    }
  }
  return { problems, endpoints };
}

const MESSAGE = /^(\w+)\s*(-->>|->>|-->|->|--x|-x|--\)|-\))\s*[+-]?\s*(\w+)\s*:(.*)$/;
const BLOCK_OPENERS = /^(alt|opt|loop|par|critical|break|rect)\b/;

function parseSequence(body: Line[]): Omit<MermaidResult, "type"> {
  const problems: Problem[] = [];
  const participants = new Map<string, string>();
  const endpoints: MermaidResult["endpoints"] = [];
  const blocks: string[] = [];
  const known = (id: string, line: number) => {
    if (!participants.has(id)) problems.push({ line, message: `participant "${id}" is not declared` });
  };

  for (const { text, line } of body) {
    if (!text || text.startsWith("%%") || /^(autonumber|title\b)/.test(text)) continue;
    const declared = /^(participant|actor)\s+(\w+)(?:\s+as\s+(.+))?$/.exec(text);
    if (declared) {
      participants.set(declared[2] as string, (declared[3] ?? declared[2]) as string);
      continue;
    }
    const block = BLOCK_OPENERS.exec(text);
    if (block) {
      blocks.push(block[1] as string);
      continue;
    }
    if (/^else\b/.test(text)) {
      if (blocks.at(-1) !== "alt") problems.push({ line, message: "`else` outside an `alt` block" });
      continue;
    }
    if (/^and\b/.test(text)) {
      if (blocks.at(-1) !== "par") problems.push({ line, message: "`and` outside a `par` block" });
      continue;
    }
    if (/^option\b/.test(text)) {
      if (blocks.at(-1) !== "critical") problems.push({ line, message: "`option` outside a `critical` block" });
      continue;
    }
    if (text === "end") {
      if (!blocks.pop()) problems.push({ line, message: "`end` without an open block" });
      continue;
    }
    const note = /^note\s+(?:left of|right of|over)\s+([\w\s,]+?)\s*:/i.exec(text);
    if (note) {
      for (const id of (note[1] as string).split(",")) known(id.trim(), line);
      continue;
    }
    const activation = /^(activate|deactivate)\s+(\w+)$/.exec(text);
    if (activation) {
      known(activation[2] as string, line);
      continue;
    }
    const message = MESSAGE.exec(text);
    if (!message) {
      problems.push({ line, message: `cannot read this sequence diagram line: "${text}"` });
      continue;
    }
    const [, from = "", , to = "", said = ""] = message;
    known(from, line);
    known(to, line);
    const endpoint = endpointIn(said);
    if (endpoint)
      endpoints.push({ line, endpoint: { ...endpoint, service: serviceOfLabel(participants.get(to) ?? "") } });
  }
  if (blocks.length)
    problems.push({ line: body.at(-1)?.line ?? 0, message: `block(s) not closed: ${blocks.join(", ")}` });
  return { problems, endpoints };
}

// ---- checking references against the code ----

export type Facts = {
  /** routeKey()s each service (or the web app) serves. */
  routes: Record<string, ReadonlySet<string>>;
  /** Keys of EnvSchema. */
  envKeys: ReadonlySet<string>;
  /** Why a value is refused for an EnvSchema key, or null when it is accepted. */
  envValueProblem: (name: string, value: string) => string | null;
  /** Variables the launcher, runner, seed or test harness read that are not service configuration. */
  toolVariables: ReadonlySet<string>;
  /** Paths the tools write (results, reports, data folders), in the placeholder form the docs use. */
  generatedPaths: ReadonlySet<string>;
  /** Whether a repo-relative path or pattern (`*`, `<name>`, trailing `/` for a folder) matches something in the repo. */
  pathExists: (path: string) => boolean;
};

const withoutSlash = (path: string) => path.replace(/^\.\//, "").replace(/\/+$/, "");

/** The problems of one document: each reference that names something the code does not have. */
export function checkReferences(references: readonly Reference[], facts: Facts, docDir = ""): Problem[] {
  const problems: Problem[] = [];
  const generated = new Set([...facts.generatedPaths].map(withoutSlash));
  // a bare name (`report.md`, `metrics/`) may name a generated file by its last segment
  const generatedNames = new Set([...generated].map((path) => path.split("/").at(-1) as string));
  const exists = (path: string) => {
    const bare = withoutSlash(path);
    return generated.has(bare) || (!bare.includes("/") && generatedNames.has(bare)) || facts.pathExists(path);
  };
  for (const reference of references) {
    const { line } = reference;
    switch (reference.kind) {
      case "endpoint": {
        const name = `${reference.method} ${reference.path}`;
        if (!reference.service) {
          problems.push({ line, message: `\`${name}\` names no service: add <!-- service: NAME --> above it` });
          break;
        }
        const services =
          reference.service === EVERY_SERVICE ? SERVICE_LIKE.filter((each) => each !== "web") : [reference.service];
        for (const service of services) {
          const routes = facts.routes[service];
          if (!routes) problems.push({ line, message: `\`${name}\`: there is no service "${service}"` });
          else if (!serves(routes, reference.method, reference.path)) {
            problems.push({ line, message: `\`${name}\` is not a route of the ${service} service` });
          }
        }
        break;
      }
      case "variable": {
        if (facts.envKeys.has(reference.name)) {
          const refused = reference.value === undefined ? null : facts.envValueProblem(reference.name, reference.value);
          if (refused) problems.push({ line, message: `\`${reference.name}=${reference.value}\`: ${refused}` });
        } else if (!facts.toolVariables.has(reference.name)) {
          problems.push({ line, message: `\`${reference.name}\` is neither in EnvSchema nor a known tool variable` });
        }
        break;
      }
      case "path": {
        const fromDoc = normalisePath(docDir ? `${docDir}/${reference.path}` : reference.path);
        if (fromDoc === null) {
          problems.push({ line, message: `\`${reference.path}\` leaves the repository` });
          break;
        }
        const fromRow = reference.rowFolder && normalisePath(`${reference.rowFolder}${reference.path}`);
        if (!exists(reference.path) && !exists(fromDoc) && !(fromRow && exists(fromRow)))
          problems.push({ line, message: `\`${reference.path}\` does not exist in the repository` });
        break;
      }
      case "link": {
        const target = normalisePath(docDir ? `${docDir}/${reference.target}` : reference.target);
        if (target === null || !exists(target)) {
          problems.push({ line, message: `link to ${reference.target}, which does not exist` });
        }
        break;
      }
    }
  }
  return problems;
}

/**
 * Whether a route set serves `method path`: the same route (parameters by position), or a catch-all
 * route (`ALL /api/:service/*`) whose fixed segments match the path's and whose `*` takes the rest.
 */
export function serves(routes: ReadonlySet<string>, method: string, path: string): boolean {
  const key = routeKey(method, path);
  if (routes.has(key)) return true;
  const segments = (key.split(" ")[1] as string).split("/");
  for (const route of routes) {
    const [routeMethod = "", routePath = ""] = route.split(" ");
    if (!routePath.endsWith("/*") || (routeMethod !== "ALL" && routeMethod !== key.split(" ")[0])) continue;
    const fixed = routePath.split("/").slice(0, -1);
    if (segments.length > fixed.length && fixed.every((part, i) => part === "{}" || part === segments[i])) return true;
  }
  return false;
}

/** `docs/architecture/../../README.md` → `README.md`; null when it leaves the repository. */
export function normalisePath(path: string): string | null {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (!parts.pop()) return null;
    } else parts.push(part);
  }
  return `${parts.join("/")}${path.endsWith("/") ? "/" : ""}`;
}

/**
 * A doc path as a glob over repo-relative paths: `<run-id>` and `*` match one path segment, and a bare
 * file name (no `/`) may be anywhere, as prose names `views.tsx` for the views of every service.
 */
export function pathPattern(path: string): string {
  const glob = withoutSlash(path).replace(/<[^>/]+>/g, "*");
  return glob.includes("/") ? glob : `**/${glob}`;
}
