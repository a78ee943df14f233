import { expect, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import { SERVICE_NAMES, SERVICES, type ServiceName, WEB_PORT } from "@lab/shared";
import { needs } from "../tools";
import {
  containerEnv,
  type K8sObject,
  kustomizations,
  ROOT,
  render,
  selects,
  type Workload,
  workloads,
} from "./kustomize";

const { describe, test } = needs(["kubectl"]);

// kubectl kustomize renders each folder once per file; on a loaded machine that takes a while
setDefaultTimeout(120_000);

type Peer = { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: unknown; ipBlock?: unknown };
type NetworkPolicy = K8sObject & {
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: { from?: Peer[]; ports?: { port?: number | string }[] }[];
  };
};

/** Anyone, inside the namespace or out: a rule without `from`. */
const ANYONE = "anyone";

/**
 * Who may open a connection to a workload's pods on a port, by the NetworkPolicy rules: the names of
 * the workloads whose pods a rule's podSelector picks, or ANYONE. A pod no policy selects is open
 * to anyone, as Kubernetes has it.
 */
function allowedSources(objects: K8sObject[], target: Workload, port: number): Set<string> {
  const pods = workloads(objects);
  const policies = (objects.filter((object) => object.kind === "NetworkPolicy") as NetworkPolicy[]).filter(
    (policy) =>
      (policy.spec.policyTypes ?? ["Ingress"]).includes("Ingress") &&
      selects(policy.spec.podSelector.matchLabels ?? {}, target.labels),
  );
  if (policies.length === 0) return new Set([ANYONE]);
  const portNames = new Set(
    target.spec.containers.flatMap((container) => container.ports ?? []).filter((p) => p.containerPort === port),
  );
  const allowed = new Set<string>();
  for (const rule of policies.flatMap((policy) => policy.spec.ingress ?? [])) {
    const portMatches =
      !rule.ports?.length ||
      rule.ports.some((p) => p.port === port || [...portNames].some((named) => named.name === p.port));
    if (!portMatches) continue;
    if (!rule.from?.length) {
      allowed.add(ANYONE);
      continue;
    }
    for (const peer of rule.from) {
      if (peer.namespaceSelector || peer.ipBlock || !peer.podSelector) allowed.add(ANYONE);
      else for (const pod of pods) if (selects(peer.podSelector.matchLabels ?? {}, pod.labels)) allowed.add(pod.name);
    }
  }
  return allowed;
}

/** A workload's source: every non-test file below its folder, as one text. */
async function sourceOf(dir: string): Promise<string> {
  let text = "";
  for await (const file of new Bun.Glob("**/*.{ts,tsx}").scan(join(ROOT, dir)))
    if (!file.includes(".test.")) text += await Bun.file(join(ROOT, dir, file)).text();
  return text;
}

/**
 * Who calls each service, read from the code: an app whose source calls it through ServiceClient
 * (shared/src/client.ts: `api<App>("course")`, `fragment("course", …)`, `send("course", …)`), or
 * forwards to whichever service a path names (the web app's `/api/:service` proxy, `send(service,`),
 * Locust's workers when the locustfile builds that service's URL, and Prometheus, which scrapes
 * every app.
 */
async function callersFromCode(): Promise<Record<ServiceName, Set<string>>> {
  const apps: Record<string, string> = { web: await sourceOf("web-htmx/src") };
  for (const name of SERVICE_NAMES) apps[name] = await sourceOf(`services/${name}/src`);
  // locustfile.py and the load package it wires
  const locustfile = (
    await Promise.all(
      ["locustfile.py", ...new Bun.Glob("load/*.py").scanSync(ROOT)].map((path) => Bun.file(join(ROOT, path)).text()),
    )
  ).join("\n");
  const calls = (source: string, service: ServiceName) =>
    new RegExp(`\\.(?:api<\\w+>|fragment|send)\\(\\s*"${service}"`).test(source) || /\.send\(service,/.test(source);
  const callers = {} as Record<ServiceName, Set<string>>;
  for (const service of SERVICE_NAMES) {
    callers[service] = new Set(["prometheus"]);
    for (const [app, source] of Object.entries(apps))
      if (app !== service && calls(source, service)) callers[service].add(app);
    if (locustfile.includes(`service_url("${service.toUpperCase()}"`)) callers[service].add("locust-worker");
  }
  return callers;
}

const sorted = (set: Set<string>) => [...set].sort();
const byName = (objects: K8sObject[], name: string) => workloads(objects).find((workload) => workload.name === name)!;

test("the call graph read from the code is the one docs/architecture/01-overview.md draws", async () => {
  const callers = await callersFromCode();
  expect(sorted(callers.course)).toEqual(["enrollment", "locust-worker", "prometheus", "web"]);
  expect(sorted(callers.payment)).toEqual(["enrollment", "locust-worker", "prometheus", "web"]);
  expect(sorted(callers.identity)).toEqual(["locust-worker", "prometheus", "web"]);
});

test("a rule taken away shows: enrollment without its way to course", async () => {
  const objects = structuredClone(await render("base"));
  const course = objects.find(
    (object) => object.kind === "NetworkPolicy" && object.metadata.name === "course",
  ) as NetworkPolicy;
  const rule = course.spec.ingress![0]!;
  rule.from = rule.from!.filter((peer) => peer.podSelector?.matchLabels?.["app.kubernetes.io/name"] !== "enrollment");
  expect(sorted(allowedSources(objects, byName(objects, "course"), SERVICES.course.port))).not.toContain("enrollment");
  // and a policy that names no port opens every port
  rule.ports = [];
  expect(allowedSources(objects, byName(objects, "course"), 1234).has("web")).toBe(true);
});

for (const dir of kustomizations()) {
  describe(`deploy/k8s/${dir}: NetworkPolicies`, () => {
    test("every pod is isolated: a default deny covers whatever no rule allows", async () => {
      const objects = await render(dir);
      const deny = objects.find(
        (object) => object.kind === "NetworkPolicy" && object.metadata.name === "default-deny-ingress",
      ) as NetworkPolicy;
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
      expect(sorted(allowedSources(objects, byName(objects, "locust-worker"), 5557))).toEqual([]);
    });

    test("a service only from the web app, the services that call it, Locust's workers and Prometheus", async () => {
      const objects = await render(dir);
      const callers = await callersFromCode();
      for (const name of SERVICE_NAMES) {
        const service = byName(objects, name);
        expect(sorted(allowedSources(objects, service, SERVICES[name].port)), name).toEqual(sorted(callers[name]));
        expect(sorted(allowedSources(objects, service, SERVICES[name].port + 1000)), `${name}, another port`).toEqual(
          [],
        );
      }
    });

    test("an exporter only from Prometheus, on its metrics port", async () => {
      const objects = await render(dir);
      const exporters = workloads(objects).flatMap((workload) =>
        workload.spec.containers
          .filter((container) => container.name === "exporter")
          .flatMap((container) => (container.ports ?? []).map((port) => ({ workload, port: port.containerPort }))),
      );
      expect(exporters.length).toBe(SERVICE_NAMES.length + 3);
      for (const { workload, port } of exporters)
        expect(sorted(allowedSources(objects, workload, port)), `${workload.name}:${port}`).toEqual(["prometheus"]);
    });

    test("a database only from its own service and PgBouncer", async () => {
      const objects = await render(dir);
      for (const name of SERVICE_NAMES)
        expect(sorted(allowedSources(objects, byName(objects, `${name}-db`), 5432)), name).toEqual(
          sorted(new Set([name, "pgbouncer"])),
        );
    });

    test("no app believes a caller's X-Forwarded-For: the web app signs each browser's address for identity", async () => {
      const objects = await render(dir);
      const proxies = (name: string) =>
        containerEnv(objects, byName(objects, name).spec.containers[0]!).TRUSTED_PROXIES ?? "";
      for (const name of [...SERVICE_NAMES, "web"]) expect(proxies(name), name).toBe("");
      // the web app is reached by anyone: it takes the socket's peer unless an overlay lists an ingress
      expect(allowedSources(objects, byName(objects, "web"), WEB_PORT).has(ANYONE)).toBe(true);
    });

    test("PgBouncer from the services, each Redis from those whose REDIS_URL names it; Prometheus from Grafana and the Lab page; the UIs from anyone", async () => {
      const objects = await render(dir);
      const from = (name: string, port: number) => sorted(allowedSources(objects, byName(objects, name), port));
      expect(from("pgbouncer", 6432)).toEqual([...SERVICE_NAMES].sort());
      // the services open Redis (shared/src/run.ts, identity's throttle); the web app never does
      const redisHost = (name: string) =>
        new URL(containerEnv(objects, byName(objects, name).spec.containers[0]!).REDIS_URL ?? "").hostname;
      for (const redis of ["redis", "identity-redis"])
        expect(from(redis, 6379), redis).toEqual(SERVICE_NAMES.filter((name) => redisHost(name) === redis).sort());
      expect(from("identity-redis", 6379)).toEqual(["identity"]);
      expect(from("prometheus", 9090)).toEqual(["grafana", "web"]);
      expect(from("locust-master", 5557)).toEqual(["locust-worker"]);
      for (const [name, port] of [
        ["web", WEB_PORT],
        ["grafana", 3000],
        ["locust-master", 8089],
      ] as const)
        expect(from(name, port), name).toEqual([ANYONE]);
    });
  });
}
