import { expect, setDefaultTimeout } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ConfigError,
  DEVELOPMENT_JWT_SECRET,
  EnvSchema,
  parseEnv,
  SERVICE_NAMES,
  SERVICES,
  type ServiceName,
  serviceConfig,
  serviceUrlVar,
  WEB_PORT,
} from "@lab/shared";
import { environmentAfterEntrypoint } from "../compose/compose";
import { needs } from "../tools";
import {
  type Container,
  containerEnv,
  DEFAULT_CONTAINER,
  type K8sObject,
  kustomizations,
  mainContainer,
  type Probe,
  podAnnotations,
  ROOT,
  render,
  selects,
  TEST_SECRETS,
  type Workload,
  workloads,
} from "./kustomize";

const { describe, test } = needs(["kubectl"]);

// kubectl kustomize renders each folder once per file; on a loaded machine that takes a while
setDefaultTimeout(120_000);

const APPS = [...SERVICE_NAMES, "web"] as const;
type AppName = (typeof APPS)[number];
const appPort = (name: AppName) => (name === "web" ? WEB_PORT : SERVICES[name].port);
const isApp = (workload: Workload) => (APPS as readonly string[]).includes(workload.name);

/** Variables an app container gets besides EnvSchema's: what docker/entrypoint.sh picks DATABASE_URL from. */
const ENTRYPOINT_VARIABLES = ["PGBOUNCER_DATABASE_URL", "POSTGRES_PASSWORD"];
/** Workloads with nothing to probe, and why. */
const UNPROBED: Record<string, string> = {
  "locust-worker": "serves nothing; the master's UI lists the workers that report",
};
/** Workloads that talk to the Kubernetes API and so keep a service account token. */
const API_CLIENTS = ["prometheus"];

const probeProblems = (name: string, container: Container): string[] => {
  const problems: string[] = [];
  const httpPath = (probe: Probe | undefined) => probe?.httpGet?.path;
  const portOk = (probe: Probe | undefined) =>
    probe?.httpGet?.port === "http" && container.ports?.some((port) => port.name === "http");
  if (httpPath(container.readinessProbe) !== "/readyz" || !portOk(container.readinessProbe))
    problems.push(`${name}: readiness is not GET /readyz on its http port`);
  if (httpPath(container.livenessProbe) !== "/healthz" || !portOk(container.livenessProbe))
    problems.push(`${name}: liveness is not GET /healthz on its http port`);
  return problems;
};

for (const dir of kustomizations()) {
  describe(`deploy/k8s/${dir}: production habits in every workload`, () => {
    test("apps: readiness on /readyz and liveness on /healthz; every other workload probed, save the listed", async () => {
      const problems: string[] = [];
      for (const workload of workloads(await render(dir))) {
        for (const container of workload.spec.containers) {
          if (isApp(workload)) problems.push(...probeProblems(workload.name, container));
          else if (!(workload.name in UNPROBED) && !(container.readinessProbe && container.livenessProbe))
            problems.push(`${workload.name}: no readiness or liveness probe`);
        }
      }
      expect(problems).toEqual([]);
    });

    test("CPU and memory requests and limits on every container, requests within limits", async () => {
      const quantity = (value: string | undefined) => {
        const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(value ?? "");
        if (!match) return Number.NaN;
        const scale = { m: 0.001, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[match[2] ?? ""] ?? 1;
        return Number(match[1]) * scale;
      };
      for (const workload of workloads(await render(dir))) {
        for (const container of workload.spec.containers) {
          for (const resource of ["cpu", "memory"]) {
            const what = `${workload.name} ${resource}`;
            const request = quantity(container.resources?.requests?.[resource]);
            const limit = quantity(container.resources?.limits?.[resource]);
            expect(request, `${what} request`).toBeGreaterThan(0);
            expect(limit, `${what} limit`).toBeGreaterThanOrEqual(request);
          }
        }
      }
    });

    test("non-root, no privilege escalation, no capabilities, seccomp, read-only root filesystem", async () => {
      for (const workload of workloads(await render(dir))) {
        const pod = workload.spec.securityContext ?? {};
        expect(pod.runAsNonRoot, workload.name).toBe(true);
        expect(pod.runAsUser, workload.name).toBeGreaterThan(0);
        expect(pod.seccompProfile, workload.name).toEqual({ type: "RuntimeDefault" });
        for (const container of workload.spec.containers) {
          expect(container.securityContext, workload.name).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          });
        }
        expect(workload.spec.automountServiceAccountToken ?? true, workload.name).toBe(
          API_CLIENTS.includes(workload.name),
        );
      }
    });

    test("a PodDisruptionBudget for each app that selects its pods and lets a drain proceed", async () => {
      const objects = await render(dir);
      const budgets = objects.filter((object) => object.kind === "PodDisruptionBudget") as (K8sObject & {
        spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable?: number };
      })[];
      for (const app of workloads(objects).filter(isApp)) {
        const mine = budgets.filter((budget) => selects(budget.spec.selector.matchLabels, app.labels));
        expect(mine.length, app.name).toBe(1);
        expect(mine[0]?.spec.maxUnavailable, app.name).toBeGreaterThanOrEqual(1);
      }
    });

    test("secrets only from a Secret, none committed, and production mode so none can be defaulted", async () => {
      const objects = await render(dir);
      expect(objects.filter((object) => object.kind === "Secret")).toEqual([]);
      expect(JSON.stringify(objects)).not.toContain(DEVELOPMENT_JWT_SECRET);
      for (const workload of workloads(objects)) {
        for (const container of workload.spec.containers) {
          for (const variable of container.env ?? []) {
            if (/SECRET|PASS/.test(variable.name))
              expect(variable.valueFrom?.secretKeyRef?.name, `${workload.name} ${variable.name}`).toBe("lab-secrets");
          }
          if (isApp(workload)) {
            const env = containerEnv(objects, container, TEST_SECRETS);
            expect(env.NODE_ENV, workload.name).toBe("production");
            // what the app does with no secret: refuses to start
            const { JWT_SECRET: _, ...withoutSecret } = env;
            expect(() => parseEnv(withoutSecret, 1)).toThrow(ConfigError);
          }
        }
      }
    });
  });

  describe(`deploy/k8s/${dir}: the contract`, () => {
    test("each app listens, is served and is scraped on its contract port", async () => {
      const objects = await render(dir);
      for (const name of APPS) {
        const app = workloads(objects).find((workload) => workload.name === name)!;
        const container = app.spec.containers[0]!;
        const port = appPort(name);
        expect(container.ports, name).toEqual([{ name: "http", containerPort: port }]);
        expect(containerEnv(objects, container, TEST_SECRETS).PORT, name).toBe(String(port));
        const service = objects.find((object) => object.kind === "Service" && object.metadata.name === name);
        expect((service?.spec as { ports: unknown[] } | undefined)?.ports, name).toEqual([
          { name: "http", port, targetPort: "http" },
        ]);
        const annotations = (app.object.spec as { template: { metadata: { annotations?: Record<string, string> } } })
          .template.metadata.annotations;
        expect(annotations, name).toEqual({
          "prometheus.io/scrape": "true",
          "prometheus.io/port": String(port),
          "prometheus.io/path": "/metrics",
        });
      }
    });

    test("every variable an app gets is one EnvSchema reads (or the entrypoint), with a value it accepts", async () => {
      const objects = await render(dir);
      const known = new Set([...Object.keys(EnvSchema.properties), ...ENTRYPOINT_VARIABLES]);
      for (const app of workloads(objects).filter(isApp)) {
        const env = containerEnv(objects, app.spec.containers[0]!, TEST_SECRETS);
        expect(
          Object.keys(env).filter((name) => !known.has(name)),
          app.name,
        ).toEqual([]);
        if (app.name === "web") {
          expect(() => parseEnv(env)).not.toThrow();
          continue;
        }
        // as the image starts it: docker/entrypoint.sh picks DATABASE_URL, then the service's config
        const started = await environmentAfterEntrypoint(env);
        const config = serviceConfig(app.name as ServiceName, started);
        const database = SERVICES[app.name as ServiceName].database;
        const expected =
          config.DB_VIA_PGBOUNCER === "1"
            ? `postgres://lab:test-password@pgbouncer:6432/${database}`
            : `postgres://lab:test-password@${app.name}-db:5432/${database}`;
        expect(config.DATABASE_URL, app.name).toBe(expected);
        expect(config.DIRECT_DATABASE_URL, app.name).toBe(
          `postgres://lab:test-password@${app.name}-db:5432/${database}`,
        );
      }
    });

    test("the URLs the apps and Locust call name the Services on their contract ports", async () => {
      const objects = await render(dir);
      const serviceAt = (url: string) => {
        if (!URL.canParse(url)) return false;
        const { hostname, port } = new URL(url);
        const service = objects.find((object) => object.kind === "Service" && object.metadata.name === hostname);
        return (service?.spec as { ports: { port: number }[] } | undefined)?.ports.some((p) => p.port === Number(port));
      };
      for (const workload of workloads(objects).filter(
        (workload) => isApp(workload) || workload.labels["app.kubernetes.io/component"] === "load",
      )) {
        const env = containerEnv(objects, workload.spec.containers[0]!, TEST_SECRETS);
        for (const name of SERVICE_NAMES) {
          expect(env[serviceUrlVar(name)], `${workload.name} ${serviceUrlVar(name)}`).toBe(
            `http://${name}:${SERVICES[name].port}`,
          );
        }
        if (!isApp(workload)) continue;
        expect(serviceAt(env.REDIS_URL ?? ""), `${workload.name} REDIS_URL`).toBe(true);
        if (workload.name === "web") expect(serviceAt(env.PROMETHEUS_URL ?? ""), "web PROMETHEUS_URL").toBe(true);
      }
    });

    test("each service's database: one StatefulSet with a volume, reachable through its Service and PgBouncer", async () => {
      const objects = await render(dir);
      const ini = readFileSync(join(ROOT, "docker/pgbouncer/pgbouncer.ini"), "utf8");
      for (const name of SERVICE_NAMES) {
        const db = workloads(objects).find((workload) => workload.name === `${name}-db`);
        expect(db?.object.kind, name).toBe("StatefulSet");
        const spec = db?.object.spec as { volumeClaimTemplates: { metadata: { name: string } }[] };
        expect(spec.volumeClaimTemplates.map((claim) => claim.metadata.name)).toEqual(["data"]);
        const env = containerEnv(objects, mainContainer(db!), TEST_SECRETS);
        expect(env.POSTGRES_DB).toBe(SERVICES[name].database);
        expect(ini).toContain(
          `${SERVICES[name].database} = host=${name}-db port=5432 dbname=${SERVICES[name].database}`,
        );
      }
    });

    test("Locust runs the repo's locustfile with the input the README creates, as master and workers", async () => {
      const objects = await render(dir);
      const locust = workloads(objects).filter((workload) => workload.labels["app.kubernetes.io/component"] === "load");
      expect(locust.map((workload) => workload.name).sort()).toEqual(["locust-master", "locust-worker"]);
      for (const workload of locust) {
        const container = workload.spec.containers[0]!;
        const mount = container.volumeMounts?.find((volume) => volume.name === "locust")?.mountPath;
        expect(container.args?.slice(0, 2)).toEqual(["-f", `${mount}/locustfile.py`]);
        expect(containerEnv(objects, container, TEST_SECRETS).LAB_INPUT_FILE).toBe(`${mount}/input.json`);
      }
      const worker = locust.find((workload) => workload.name === "locust-worker")!;
      expect(worker.spec.containers[0]?.args).toContain("--worker");
      const master = worker.spec.containers[0]?.args?.[worker.spec.containers[0]?.args.indexOf("--master-host") + 1];
      expect(objects.some((object) => object.kind === "Service" && object.metadata.name === master)).toBe(true);
    });
  });
}

type RelabelRule = {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  action?: "replace" | "keep" | "drop";
  target_label?: string;
  replacement?: string;
};

/**
 * Prometheus's relabelling of one discovered target (keep, drop and replace, regexes anchored as
 * Prometheus anchors them): the labels it is scraped with, or null when it is dropped. Debian's
 * promtool is built without Kubernetes discovery, so the rules are run here instead.
 */
function relabel(discovered: Record<string, string>, rules: RelabelRule[]): Record<string, string> | null {
  const labels = { ...discovered };
  for (const rule of rules) {
    const value = (rule.source_labels ?? []).map((name) => labels[name] ?? "").join(rule.separator ?? ";");
    const regex = new RegExp(`^(?:${rule.regex ?? "(.*)"})$`);
    const matches = regex.test(value);
    const action = rule.action ?? "replace";
    if (action === "keep" && !matches) return null;
    if (action === "drop" && matches) return null;
    if (action === "replace" && matches && rule.target_label)
      labels[rule.target_label] = value.replace(regex, rule.replacement ?? "$1");
  }
  return labels;
}

/** What Prometheus's pod discovery says of one declared container port of a pod. */
function discoveredTarget(workload: Workload, port: number, podIp: string): Record<string, string> {
  const meta = (prefix: string, values: Record<string, string> = {}) =>
    Object.fromEntries(
      Object.entries(values).map(([key, value]) => [`${prefix}${key.replace(/[^a-zA-Z0-9_]/g, "_")}`, value]),
    );
  return {
    __address__: `${podIp}:${port}`,
    __metrics_path__: "/metrics",
    job: "pods",
    __meta_kubernetes_pod_name: `${workload.name}-0`,
    __meta_kubernetes_pod_phase: "Running",
    ...meta("__meta_kubernetes_pod_label_", workload.labels),
    ...meta("__meta_kubernetes_pod_annotation_", podAnnotations(workload)),
  };
}

for (const dir of kustomizations()) {
  describe(`deploy/k8s/${dir}: Prometheus`, () => {
    test("scrapes every app pod on its port and every exporter on its own, the job the pod's app name; nothing else", async () => {
      const objects = await render(dir);
      const configMap = objects.find(
        (object) => object.kind === "ConfigMap" && object.metadata.name.startsWith("prometheus-config-"),
      ) as K8sObject & { data: Record<string, string> };
      const config = Bun.YAML.parse(configMap.data["prometheus.yml"] ?? "") as {
        scrape_configs: {
          kubernetes_sd_configs: { role: string; namespaces?: { own_namespace?: boolean } }[];
          relabel_configs: RelabelRule[];
        }[];
      };
      expect(config.scrape_configs.length).toBe(1);
      const [scrape] = config.scrape_configs;
      expect(scrape?.kubernetes_sd_configs).toEqual([{ role: "pod", namespaces: { own_namespace: true } }]);
      // what each pod should be scraped on: an app's contract port, an exporter's metrics port
      const expected = new Map<string, number>();
      for (const workload of workloads(objects)) {
        if (isApp(workload)) expected.set(workload.name, appPort(workload.name as AppName));
        const exporter = workload.spec.containers.find((container) => container.name === "exporter");
        const metrics = exporter?.ports?.find((port) => port.name === "metrics")?.containerPort;
        if (metrics) expected.set(workload.name, metrics);
      }
      // one target per declared port; Prometheus keeps one of those whose labels end up the same
      const scraped = new Map<string, string>();
      for (const workload of workloads(objects)) {
        for (const port of workload.spec.containers.flatMap((container) => container.ports ?? [])) {
          const target = relabel(discoveredTarget(workload, port.containerPort, "10.0.0.7"), scrape!.relabel_configs);
          if (!target) continue;
          expect(target.__address__, workload.name).toBe(`10.0.0.7:${expected.get(workload.name) ?? 0}`);
          expect(target.__metrics_path__).toBe("/metrics");
          expect(target.pod).toBe(`${workload.name}-0`);
          scraped.set(JSON.stringify(target), target.job ?? "");
        }
      }
      expect([...scraped.values()].sort()).toEqual([...expected.keys()].sort());
      expect([...expected.keys()].filter((name) => !(APPS as readonly string[]).includes(name)).sort()).toEqual(
        [...SERVICE_NAMES.map((name) => `${name}-db`), "pgbouncer", "redis", "identity-redis"].sort(),
      );
    });

    test("a pod of several containers names its own as kubectl's default, the server beside its exporter", async () => {
      for (const workload of workloads(await render(dir))) {
        if (workload.spec.containers.length === 1) continue;
        expect(workload.spec.containers.map((container) => container.name).sort(), workload.name).toEqual(
          ["exporter", mainContainer(workload).name].sort(),
        );
        expect(podAnnotations(workload)[DEFAULT_CONTAINER], workload.name).not.toBe("exporter");
      }
    });

    test("may list and watch the namespace's pods, and nothing else", async () => {
      const objects = await render(dir);
      const role = objects.find((object) => object.kind === "Role" && object.metadata.name === "prometheus");
      expect(role?.rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }]);
      expect(objects.filter((object) => object.kind.startsWith("Cluster"))).toEqual([]);
      const binding = objects.find((object) => object.kind === "RoleBinding") as
        | (K8sObject & { roleRef: { name: string }; subjects: { kind: string; name: string; namespace: string }[] })
        | undefined;
      expect(binding?.roleRef.name).toBe("prometheus");
      expect(binding?.subjects).toEqual([{ kind: "ServiceAccount", name: "prometheus", namespace: "coursework-lab" }]);
      const prometheus = workloads(objects).find((workload) => workload.name === "prometheus");
      expect(prometheus?.spec.serviceAccountName).toBe("prometheus");
    });
  });
}

test("the relabelling is run, not assumed: a pod without the annotation is dropped, a port rewritten", () => {
  const rules: RelabelRule[] = [
    { source_labels: ["scrape"], action: "keep", regex: "true" },
    {
      source_labels: ["__address__", "port"],
      regex: "([^:]+)(?::\\d+)?;(\\d+)",
      replacement: "$1:$2",
      target_label: "__address__",
    },
  ];
  expect(relabel({ scrape: "false" }, rules)).toBeNull();
  expect(relabel({ scrape: "true", __address__: "10.0.0.1:5432", port: "8002" }, rules)?.__address__).toBe(
    "10.0.0.1:8002",
  );
});
