import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseEnv, SERVICE_NAMES, ServiceClient } from "@lab/shared";
import { SERVICE_APPS } from "../../scripts/lib/apps";
import { CONTRACT_FILE } from "../../scripts/lib/contract";
import { webApp } from "../../web-htmx/src/app";
import { buildAssets } from "../../web-htmx/src/assets";
import { type Harness, serviceHarness } from "../support";
import { checkReferences, type Facts, pathPattern, routeKey, SERVICE_LIKE, scanDoc } from "./doc-check";
import { envKeys, envValueProblem, pathExistsIn, ROOT, repoIndex, trackedFiles } from "./repo-facts";

/**
 * Keeps docs/architecture/ honest: every endpoint, environment variable, file path and link it names
 * exists, every Mermaid diagram parses, and every route of every service is named somewhere.
 * What counts as a reference is described at the top of ./doc-check.ts.
 */

const DOCS_DIR = "docs/architecture";
const DOCS = [
  "01-overview.md",
  "02-identity-and-auth.md",
  "03-course-and-search.md",
  "04-enrollment-payment-notification.md",
  "05-observability-and-experiments.md",
];

/**
 * Variables read by the launcher, the experiment runner, Locust or the test harness rather than by a
 * service's config: each with a file whose source names it (as written there, or the pattern that builds it).
 */
const TOOL_VARIABLES: { names: string[]; file: string; evidence: string }[] = [
  { names: ["PG_PORT"], file: "scripts/lib/databases.ts", evidence: "process.env.PG_PORT" },
  {
    names: SERVICE_NAMES.map((name) => `${name.toUpperCase()}_DATABASE_URL`),
    file: "shared/src/services.ts",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the template as written in that source
    evidence: "${name.toUpperCase()}_DATABASE_URL",
  },
  {
    names: [...SERVICE_NAMES, "web", "pgbouncer", "redis", "login_redis"].map((name) => `${name.toUpperCase()}_PORT`),
    file: "scripts/lib/stack.ts",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the template as written in that source
    evidence: "process.env[`${name.toUpperCase()}_PORT`]",
  },
  { names: ["PROMETHEUS_PORT"], file: "scripts/lib/prometheus.ts", evidence: "process.env.PROMETHEUS_PORT" },
  { names: ["LAB_INPUT_FILE"], file: "locustfile.py", evidence: 'os.environ.get("LAB_INPUT_FILE")' },
  { names: ["LAB_SCREENSHOTS_DIR"], file: "test/browser/web.test.ts", evidence: "process.env.LAB_SCREENSHOTS_DIR" },
  { names: ["LAB_WRITES_FILE"], file: "locustfile.py", evidence: "LAB_WRITES_FILE" },
  { names: ["LAB_PROFILE"], file: "scripts/experiments/run/locust-load.ts", evidence: 'LAB_PROFILE: "capacity"' },
  { names: ["LAB_WORKER_INDEX"], file: "shared/src/workers.ts", evidence: '"LAB_WORKER_INDEX"' },
  {
    names: ["LAB_DROPPED_LIMIT", "LAB_MIN_P99_SAMPLES", "LAB_GENERATOR_CORES", "LAB_GENERATOR_LAG_MS"],
    file: "load/judge.py",
    evidence: 'number("LAB_',
  },
  { names: ["LAB_DRAIN_SECONDS"], file: "load/schedule.py", evidence: 'env.get("LAB_DRAIN_SECONDS"' },
  {
    names: ["LAB_RATES", "LAB_USERS"],
    file: "scripts/experiments/run/locust-load.ts",
    evidence: "LAB_RATES: load.rates",
  },
  {
    names: ["LAB_STEPS_FILE", "LAB_PROGRESS_FILE"],
    file: "scripts/experiments/run/runner.ts",
    evidence: "LAB_STEPS_FILE:",
  },
  { names: ["CHROMIUM_PATH"], file: "scripts/lib/chromium.ts", evidence: "process.env.CHROMIUM_PATH" },
  { names: ["FUZZ_RUNS"], file: "test/reliability/fuzz.test.ts", evidence: "process.env.FUZZ_RUNS" },
  { names: ["CI"], file: "test/tools.ts", evidence: "process.env.CI" },
  // compose's own variables, which it maps onto the apps' settings or its containers' ports
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's interpolation as written there
  { names: ["WEB_TRUSTED_PROXIES"], file: "compose.yaml", evidence: "TRUSTED_PROXIES: ${WEB_TRUSTED_PROXIES:-}" },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's interpolation as written there
  { names: ["PUBLISH_ADDRESS"], file: "compose.yaml", evidence: "${PUBLISH_ADDRESS:-127.0.0.1}" },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's interpolation as written there
  { names: ["GRAFANA_ADMIN_PASSWORD"], file: "compose.yaml", evidence: "${GRAFANA_ADMIN_PASSWORD:-admin}" },
  { names: ["APP_DIR"], file: "Dockerfile", evidence: "ARG APP_DIR" },
  { names: ["APP_PORT"], file: "Dockerfile", evidence: "ARG APP_PORT" },
  { names: ["PGBOUNCER_DATABASE_URL"], file: "docker/entrypoint.sh", evidence: "${PGBOUNCER_DATABASE_URL:?" },
];

/** Upper-case constants of the source that docs quote by name (not variables), each with its definition. */
const SOURCE_CONSTANTS: { names: string[]; file: string; evidence: string }[] = [
  { names: ["RARE_WORDS"], file: "scripts/seed/vocabulary.ts", evidence: "export const RARE_WORDS" },
  { names: ["WEB_ROUTES"], file: "shared/src/ui/routes.ts", evidence: "export const WEB_ROUTES" },
];

/** Paths a tool writes (so they need not exist in a checkout), each with the writer's source naming it. */
const GENERATED_PATHS: { path: string; file: string; evidence: string }[] = [
  { path: ".data/", file: "scripts/lib/stack.ts", evidence: '".data/postgres"' },
  { path: ".data/experiments/", file: "scripts/experiments/run/runner.ts", evidence: '".data/experiments/postgres"' },
  { path: "experiments/REPORT.md", file: "scripts/lab.ts", evidence: '"REPORT.md"' },
  { path: "experiments/REPORT.smoke.md", file: "scripts/lab.ts", evidence: '"REPORT.smoke.md"' },
  { path: "experiments/report-charts/", file: "scripts/experiments/report/lab-report.ts", evidence: "-charts`" },
  { path: "experiments/<name>/results/<run-id>/", file: "scripts/experiments/run/runner.ts", evidence: '"results"' },
  ...["report.md", "summary.json", "explain.txt"].map((name) => ({
    path: `experiments/<name>/results/<run-id>/${name}`,
    file: "scripts/experiments/results/format.ts",
    evidence: `"${name}"`,
  })),
  // a variant's runs: the same files, in the variant's folder (results/flags.ts)
  ...["", "report.md"].map((name) => ({
    path: `experiments/<name>/variants/<variant>/results/<run-id>/${name}`,
    file: "scripts/experiments/results/flags.ts",
    evidence: 'VARIANTS_DIR = "variants"',
  })),
  {
    path: "experiments/<name>/results/<run-id>/charts/",
    file: "scripts/experiments/report/run-report.ts",
    evidence: '"charts"',
  },
  ...["run.json", "metrics/", "stack.log", "locust.log"].map((name) => ({
    path: `experiments/<name>/results/<run-id>/${name}`,
    file: "scripts/experiments/run/runner.ts",
    evidence: `"${name.replace(/\/$/, "")}"`,
  })),
  ...["timeline.json", "locust_steps.csv", "locust_steps_endpoints.csv"].map((name) => ({
    path: `experiments/<name>/results/<run-id>/${name}`,
    file: "scripts/experiments/results/format.ts",
    evidence: name.startsWith("locust") ? name.slice("locust".length, -".csv".length) : `"${name}"`,
  })),
  {
    path: ".data/experiments/seed-state.json",
    file: "scripts/experiments/run/runner.ts",
    evidence: '"seed-state.json"',
  },
  ...["stats", "stats_history", "failures", "exceptions"].map((name) => ({
    path: `experiments/<name>/results/<run-id>/locust_${name}.csv`,
    file: "scripts/experiments/results/format.ts",
    evidence: `_${name}.csv`,
  })),
  { path: ".data/prometheus/", file: "scripts/lib/prometheus.ts", evidence: '".data/prometheus"' },
  { path: ".data/screenshots/browser/", file: "test/browser/web.test.ts", evidence: '".data/screenshots/browser"' },
  { path: ".data/locust-input.json", file: "scripts/locust.ts", evidence: '".data/locust-input.json"' },
  { path: "test-results/", file: "test/browser/web.test.ts", evidence: '"test-results"' },
  { path: "grafana.png", file: "scripts/screenshot.ts", evidence: 'pngName("grafana"' },
  {
    path: "lab-<from>-<to>.png",
    file: "scripts/lib/capture.ts",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the template as written in that source
    evidence: "${kind}-${stamp(range.from)}-${stamp(range.to)}.png",
  },
];

/** Served by every service but left out of its OpenAPI document; each is requested to show it is there. */
const UNLISTED_ROUTES = ["/metrics", "/swagger", "/swagger/json"];

const harnesses: Harness[] = [];
const routes: Record<string, Set<string>> = {};
let facts: Facts;

// a long timeout: migrating five databases and building the assets takes seconds, more on a busy machine
beforeAll(async () => {
  for (const name of SERVICE_NAMES) {
    const harness = await serviceHarness(name, join(ROOT, "services", name, "migrations"), SERVICE_APPS[name]);
    harnesses.push(harness);
    const document = await harness.request("GET", "/swagger/json");
    expect(document.status).toBe(200);
    const served = new Set<string>();
    for (const [path, operations] of Object.entries(document.body.paths as Record<string, object>)) {
      for (const method of Object.keys(operations)) served.add(routeKey(method, path));
    }
    for (const path of UNLISTED_ROUTES) {
      if ((await harness.request("GET", path)).status === 200) served.add(routeKey("GET", path));
    }
    routes[name] = served;
  }
  const config = parseEnv({}, 3000);
  const web = webApp({ config, services: new ServiceClient(config), assets: await buildAssets() });
  routes.web = new Set(web.routes.map((route: { method: string; path: string }) => routeKey(route.method, route.path)));

  facts = {
    routes,
    envKeys,
    envValueProblem,
    toolVariables: new Set([...TOOL_VARIABLES, ...SOURCE_CONSTANTS].flatMap((entry) => entry.names)),
    generatedPaths: new Set(GENERATED_PATHS.map((entry) => entry.path)),
    pathExists: pathExistsIn(repoIndex()),
  };
}, 120_000);

afterAll(async () => {
  await Promise.all(harnesses.map((harness) => harness.close()));
});

const read = (file: string) => Bun.file(join(ROOT, file)).text();
const docPath = (name: string) => `${DOCS_DIR}/${name}`;

describe("the checker's lists", () => {
  test("every tool variable is named in the source that reads it, every constant where it is defined", async () => {
    for (const entry of [...TOOL_VARIABLES, ...SOURCE_CONSTANTS]) {
      expect({ file: entry.file, has: (await read(entry.file)).includes(entry.evidence) }).toEqual({
        file: entry.file,
        has: true,
      });
    }
  });

  test("every generated path is named in the source that writes it", async () => {
    for (const entry of GENERATED_PATHS) {
      expect({ path: entry.path, has: (await read(entry.file)).includes(entry.evidence) }).toEqual({
        path: entry.path,
        has: true,
      });
    }
  });

  test("the routes come from the real apps", () => {
    expect(routes.course?.has("GET /courses/{}")).toBe(true);
    expect(routes.identity?.has("GET /metrics")).toBe(true);
    expect(routes.web?.has("POST /courses/{}/enroll")).toBe(true);
    expect(routes.payment?.has("GET /courses/{}")).toBe(false);
  });
});

/** Docs outside docs/architecture/ held to the same checks (paths, variables, endpoints, links). */
const OTHER_DOCS = [
  "README.md",
  "docs/usage.md",
  "docs/configuration.md",
  "docs/docker.md",
  "docs/benchmarks.md",
  "docs/reliability.md",
  "docs/scaling.md",
  "deploy/k8s/README.md",
  "scripts/experiments/README.md",
  ...["01-baseline", "02-trgm-index", "03-pool", "04-redis", "05-workers"].map(
    (name) => `experiments/${name}/README.md`,
  ),
];

describe("other checked docs", () => {
  test("with docs/architecture/ and the contract (contract.test.ts) they are every Markdown file git tracks but reports runs write", () => {
    const generated = GENERATED_PATHS.map((entry) => new Bun.Glob(pathPattern(entry.path)));
    const written = trackedFiles().filter(
      (file) => file.endsWith(".md") && !generated.some((glob) => glob.match(file)),
    );
    const checked = [...DOCS.map(docPath), ...OTHER_DOCS, CONTRACT_FILE];
    expect(written.sort()).toEqual(checked.sort());
  });

  for (const path of OTHER_DOCS) {
    test(`${path}: every endpoint, variable, path and link exists`, async () => {
      const scanned = scanDoc(await read(path), SERVICE_NAMES);
      const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
      const problems = [...scanned.problems, ...checkReferences(scanned.references, facts, dir)];
      expect(problems.map((problem) => `${path}:${problem.line}: ${problem.message}`)).toEqual([]);
      expect(scanned.references.length).toBeGreaterThan(10);
    });
  }
});

describe(DOCS_DIR, () => {
  test("holds the five numbered docs and nothing unchecked", () => {
    const present = readdirSync(join(ROOT, DOCS_DIR)).filter((name) => name.endsWith(".md"));
    expect(present.sort()).toEqual(DOCS);
  });

  for (const name of DOCS) {
    test(`${name}: every endpoint, variable, path and link exists; every diagram parses`, async () => {
      const scanned = scanDoc(await read(docPath(name)), SERVICE_NAMES);
      const problems = [...scanned.problems, ...checkReferences(scanned.references, facts, DOCS_DIR)];
      expect(problems.map((problem) => `${docPath(name)}:${problem.line}: ${problem.message}`)).toEqual([]);
      // a doc that names nothing checkable would pass whatever it said
      expect(scanned.references.length).toBeGreaterThan(10);
    });
  }

  test("01 draws who calls whom as a flowchart, 04 the paid flow as a sequence diagram", async () => {
    const headers = async (name: string) =>
      scanDoc(await read(docPath(name)), SERVICE_NAMES).mermaid.map((block) => block.source.trim().split(/\s/)[0]);
    expect(await headers("01-overview.md")).toContain("flowchart");
    expect(await headers("04-enrollment-payment-notification.md")).toContain("sequenceDiagram");
  });

  test("together they name every route of every service", async () => {
    const named = new Map<string, Set<string>>();
    for (const name of DOCS) {
      for (const reference of scanDoc(await read(docPath(name)), SERVICE_NAMES).references) {
        if (reference.kind !== "endpoint" || !reference.service) continue;
        const services = reference.service === "every" ? SERVICE_NAMES : [reference.service];
        for (const service of services) {
          const set = named.get(service) ?? new Set();
          set.add(routeKey(reference.method, reference.path));
          named.set(service, set);
        }
      }
    }
    const unnamed = SERVICE_NAMES.flatMap((service) =>
      [...(routes[service] ?? [])]
        .filter((route) => !named.get(service)?.has(route))
        .map((route) => `${service}: ${route}`),
    );
    expect(unnamed).toEqual([]);
  });

  test("README.md links each of them", async () => {
    const readme = await read("README.md");
    expect(DOCS.filter((name) => !readme.includes(`](${docPath(name)})`))).toEqual([]);
  });
});

test("SERVICE_LIKE is the services and the web app", () => {
  expect([...SERVICE_LIKE]).toEqual([...SERVICE_NAMES, "web"]);
});
