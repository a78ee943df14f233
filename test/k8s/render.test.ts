import { expect, setDefaultTimeout } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { needs } from "../tools";
import {
  examples,
  type K8sObject,
  kubectlBinary,
  kustomizations,
  ROOT,
  render,
  selects,
  unknownFields,
  validateObject,
  workloads,
} from "./kustomize";

const { describe, test } = needs(["kubectl"]);

// kubectl kustomize renders each folder once per file; on a loaded machine that takes a while
setDefaultTimeout(120_000);

const NAMESPACE = "coursework-lab";

/**
 * What the manifests refer to but must not carry: created by hand (deploy/k8s/README.md), so that no
 * secret and no cluster's seeded accounts are ever committed. Each with the keys the pods read.
 */
const CREATED_BY_HAND = {
  Secret: {
    "lab-secrets": ["JWT_SECRET", "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"],
    "course-database": ["DIRECT_DATABASE_URL", "PGBOUNCER_DATABASE_URL"],
  },
  ConfigMap: {
    locust: ["locustfile.py", "input.json"],
    // `--from-file=load/`: one key per file of the package.
    "locust-load": readdirSync(join(ROOT, "load")).filter((file) => file.endsWith(".py")),
  },
} as const;

/** Every ConfigMap and Secret a pod template names (volumes, envFrom, valueFrom), with the keys it reads. */
function references(objects: K8sObject[]) {
  const found: { kind: "ConfigMap" | "Secret"; name: string; key?: string; from: string }[] = [];
  for (const workload of workloads(objects)) {
    const from = `${workload.object.kind} ${workload.name}`;
    for (const volume of workload.spec.volumes ?? []) {
      if (volume.configMap) found.push({ kind: "ConfigMap", name: volume.configMap.name, from });
      if (volume.secret) found.push({ kind: "Secret", name: volume.secret.secretName, from });
    }
    for (const container of [...workload.spec.containers, ...(workload.spec.initContainers ?? [])]) {
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef) found.push({ kind: "ConfigMap", name: source.configMapRef.name, from });
        if (source.secretRef) found.push({ kind: "Secret", name: source.secretRef.name, from });
      }
      for (const variable of container.env ?? []) {
        const configMap = variable.valueFrom?.configMapKeyRef;
        const secret = variable.valueFrom?.secretKeyRef;
        if (configMap) found.push({ kind: "ConfigMap", name: configMap.name ?? "", key: configMap.key, from });
        if (secret) found.push({ kind: "Secret", name: secret.name ?? "", key: secret.key, from });
      }
    }
  }
  return found;
}

test("kubectl embeds kustomize v5 (the manifests are rendered with it)", () => {
  expect(kubectlBinary()).toContain("kubectl");
});

test("the validation rejects what the API server would refuse or drop", async () => {
  const deployment = (await render("base")).find((object) => object.kind === "Deployment")!;
  // a wrong type and a missing required field: the schema's own checks
  await expect(
    validateObject({ ...deployment, spec: { ...(deployment.spec as object), replicas: "two" } }),
  ).rejects.toThrow(/replicas must be integer/);
  await expect(validateObject({ ...deployment, spec: { replicas: 1 } })).rejects.toThrow(/required property/);
  await expect(validateObject({ ...deployment, apiVersion: "apps/v2" })).rejects.toThrow(/no apps\/v2 Deployment/);
  // an unknown field, which the schema lets through and the API server would drop
  const template = (deployment.spec as { template: { spec: { containers: object[] } } }).template;
  const misspelt = {
    ...deployment,
    spec: {
      ...(deployment.spec as object),
      template: {
        ...template,
        spec: { ...template.spec, containers: [{ name: "app", image: "x", readinesProbe: {} }] },
      },
    },
  };
  expect(await unknownFields([deployment, misspelt])).toEqual([
    expect.stringMatching(/^Deployment \w+: .*'"readinesProbe"' does not exist in type 'IContainer'/),
  ]);
});

for (const dir of [...kustomizations(), ...examples()]) {
  describe(`deploy/k8s/${dir}`, () => {
    test("renders with kubectl kustomize", async () => {
      expect((await render(dir)).length).toBeGreaterThan(0);
    });

    test("every object validates against the Kubernetes API schema, with no field the API does not know", async () => {
      const objects = await render(dir);
      for (const object of objects) await validateObject(object);
      expect(await unknownFields(objects)).toEqual([]);
    });

    test("everything lives in the coursework-lab namespace, which enforces the restricted pod security", async () => {
      const objects = await render(dir);
      const namespace = objects.find((object) => object.kind === "Namespace");
      expect(namespace?.metadata.name).toBe(NAMESPACE);
      expect(namespace?.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
      for (const object of objects.filter((object) => object.kind !== "Namespace"))
        expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe(NAMESPACE);
    });

    test("every ConfigMap and Secret a pod reads is rendered, or is one of those the README has you create", async () => {
      const objects = await render(dir);
      const rendered = (kind: string, name: string) =>
        objects.find((object) => object.kind === kind && object.metadata.name === name) as
          | (K8sObject & { data?: Record<string, string> })
          | undefined;
      for (const reference of references(objects)) {
        const what = `${reference.from} reads ${reference.kind} ${reference.name}${reference.key ? ` key ${reference.key}` : ""}`;
        const byHand = (CREATED_BY_HAND[reference.kind] as Record<string, readonly string[]>)[reference.name];
        if (byHand) {
          if (reference.key) expect(byHand, what).toContain(reference.key);
          expect(rendered(reference.kind, reference.name), `${what}: must not be committed`).toBeUndefined();
          continue;
        }
        const object = rendered(reference.kind, reference.name);
        expect(object, what).toBeDefined();
        if (reference.key) expect(Object.keys(object?.data ?? {}), what).toContain(reference.key);
      }
    });

    test("a variable's $(NAME) refers to one defined before it in the same container", async () => {
      for (const workload of workloads(await render(dir))) {
        for (const container of workload.spec.containers) {
          const defined = new Set<string>();
          for (const variable of container.env ?? []) {
            for (const [, name = ""] of (variable.value ?? "").matchAll(/\$\(([A-Z0-9_]+)\)/g))
              expect([...defined], `${workload.name} ${variable.name} uses $(${name})`).toContain(name);
            defined.add(variable.name);
          }
        }
      }
    });

    test("every Service selects pods that have the port it targets", async () => {
      const objects = await render(dir);
      const pods = workloads(objects);
      for (const service of objects.filter((object) => object.kind === "Service")) {
        const spec = service.spec as { selector: Record<string, string>; ports: { targetPort: string | number }[] };
        const selected = pods.filter((pod) => selects(spec.selector, pod.labels));
        expect(selected.length, `Service ${service.metadata.name} selects a workload`).toBe(1);
        const ports = selected[0]!.spec.containers.flatMap((container) => container.ports ?? []);
        for (const { targetPort } of spec.ports)
          expect(
            ports.some((port) => port.name === targetPort || port.containerPort === targetPort),
            `Service ${service.metadata.name} port ${targetPort}`,
          ).toBe(true);
      }
    });

    test("Grafana and PgBouncer get the very files compose.yaml mounts", async () => {
      const objects = await render(dir);
      const data = (prefix: string) =>
        (
          objects.find((object) => object.kind === "ConfigMap" && object.metadata.name.startsWith(`${prefix}-`)) as
            | { data: Record<string, string> }
            | undefined
        )?.data;
      const file = (path: string) => readFileSync(join(ROOT, path), "utf8");
      expect(data("grafana-dashboards")?.["coursework-lab.json"]).toBe(file("grafana/dashboards/coursework-lab.json"));
      expect(data("grafana-datasources")?.["prometheus.yml"]).toBe(
        file("grafana/provisioning/datasources/prometheus.yml"),
      );
      expect(data("grafana-dashboard-providers")?.["lab.yml"]).toBe(file("grafana/provisioning/dashboards/lab.yml"));
      expect(data("pgbouncer-config")?.["pgbouncer.ini"]).toBe(file("docker/pgbouncer/pgbouncer.ini"));
    });
  });
}
