import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "../../scripts/lib/process";

export const ROOT = join(import.meta.dir, "../..");
export const K8S_DIR = join(ROOT, "deploy/k8s");

/** A rendered Kubernetes object: what the tests read of it. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
};

/** The kustomizations a user applies: the base and every experiment overlay, relative to deploy/k8s. */
export function kustomizations(): string[] {
  const dir = join(K8S_DIR, "experiments");
  if (!existsSync(dir)) return ["base"];
  const experiments = readdirSync(dir, { withFileTypes: true })
    .filter(
      (entry) => entry.isDirectory() && existsSync(join(K8S_DIR, "experiments", entry.name, "kustomization.yaml")),
    )
    .map((entry) => `experiments/${entry.name}`)
    .sort();
  return ["base", ...experiments];
}

/** Overlays that show a variation of the base (deploy/k8s/examples), relative to deploy/k8s. */
export function examples(): string[] {
  return readdirSync(join(K8S_DIR, "examples"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `examples/${entry.name}`)
    .sort();
}

let checkedKubectl: string | undefined;
/** kubectl with kustomize v5 (kubectl 1.27 or later): components and `labels` need it. */
export function kubectlBinary(): string {
  if (checkedKubectl) return checkedKubectl;
  const binary = Bun.which("kubectl");
  if (!binary) {
    throw new Error(
      "kubectl is not installed, so the manifests cannot be rendered: apt-get install kubernetes-client (.ci/run does)",
    );
  }
  const run = Bun.spawnSync([binary, "version", "--client"]);
  const version = `${run.stdout.toString()}${run.stderr.toString()}`;
  const kustomize = /Kustomize Version: v(\d+)/.exec(version);
  if (!kustomize || Number(kustomize[1]) < 5) {
    throw new Error(`${binary} must embed kustomize v5 or later (kubectl 1.27+), it says:\n${version}`);
  }
  checkedKubectl = binary;
  return binary;
}

/** `kubectl kustomize` of a folder below deploy/k8s; throws with kustomize's own message when it fails. */
export async function kustomize(dir: string): Promise<K8sObject[]> {
  const { stdout, stderr, code } = await runCommand([kubectlBinary(), "kustomize", join(K8S_DIR, dir)]);
  if (code !== 0) throw new Error(`kubectl kustomize deploy/k8s/${dir} failed:\n${stderr}`);
  const parsed = Bun.YAML.parse(stdout) as K8sObject | K8sObject[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

const rendered = new Map<string, Promise<K8sObject[]>>();
/** Rendered once per folder for the whole test file. */
export function render(dir: string): Promise<K8sObject[]> {
  if (!rendered.has(dir)) rendered.set(dir, kustomize(dir));
  return rendered.get(dir)!;
}

type ModelClass = new (data: unknown) => { validate(): void };

/**
 * Validates one object against the Kubernetes API's schema (v1.27's OpenAPI, as the kubernetes-models
 * package compiles it): the class for its apiVersion and kind, whose validate() throws on a missing
 * required field or a wrong type. An apiVersion or kind the API does not have is an error too.
 */
export async function validateObject(object: K8sObject): Promise<void> {
  const path = `kubernetes-models/${object.apiVersion}/${object.kind}`;
  let module: Record<string, ModelClass>;
  try {
    module = await import(path);
  } catch {
    throw new Error(
      `${object.kind} ${object.metadata?.name}: no ${object.apiVersion} ${object.kind} in the Kubernetes API`,
    );
  }
  const Model = module[object.kind];
  if (!Model) throw new Error(`${path} exports no ${object.kind}`);
  new Model(object).validate();
}

/**
 * The fields the API does not know, which validate() lets through (its schemas allow extra
 * properties, and the API server would drop them silently: a `readinesProbe` is no probe). Each
 * object becomes a TypeScript literal that must satisfy its kubernetes-models interface, and tsc's
 * excess-property check names every unknown field. Returns one line per problem, naming the object.
 */
export async function unknownFields(objects: K8sObject[]): Promise<string[]> {
  // inside the repo (.tmp/ is ignored), so that the import of kubernetes-models resolves
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, ".tmp", "k8s-fields-"));
  const file = join(dir, "objects.ts");
  writeFileSync(
    file,
    objects
      .map(
        (object, index) =>
          `export const o${index} = ${JSON.stringify(object)} satisfies import("kubernetes-models/${object.apiVersion}/${object.kind}").I${object.kind};`,
      )
      .join("\n"),
  );
  try {
    const tsc = join(ROOT, "node_modules/.bin/tsc");
    const args = ["--ignoreConfig", "--noEmit", "--strict", "--skipLibCheck", "--module", "esnext"];
    args.push("--moduleResolution", "bundler", "--target", "esnext", file);
    const { stdout, code } = await runCommand([tsc, ...args], { cwd: ROOT });
    const problems = stdout
      .split("\n")
      .map((line) => /objects\.ts\((\d+),\d+\): error TS\d+: (.*)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => {
        const object = objects[Number(match[1]) - 1];
        return `${object?.kind} ${object?.metadata?.name}: ${match[2]}`;
      });
    if (code !== 0 && problems.length === 0) throw new Error(`tsc failed on the rendered objects:\n${stdout}`);
    return problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Container = {
  name: string;
  image?: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: Record<string, { name?: string; key: string; optional?: boolean }>;
  }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
};
export type Probe = { httpGet?: { path: string; port: string | number }; exec?: unknown; tcpSocket?: unknown };
export type PodSpec = {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  volumes?: {
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string };
    emptyDir?: unknown;
    persistentVolumeClaim?: { claimName: string };
  }[];
};

/** A Deployment or StatefulSet with its pod template: what runs. */
export type Workload = { object: K8sObject; name: string; labels: Record<string, string>; spec: PodSpec };

export function workloads(objects: K8sObject[]): Workload[] {
  return objects
    .filter((object) => object.kind === "Deployment" || object.kind === "StatefulSet")
    .map((object) => {
      const template = (object.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } })
        .template;
      return { object, name: object.metadata.name, labels: template.metadata?.labels ?? {}, spec: template.spec };
    });
}

/** The annotation that names the container `kubectl logs` and `exec` mean in a pod of several. */
export const DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container";

/** A pod's own container (a server, beside its exporter): the one it names as default, else its only one. */
export function mainContainer(workload: Workload): Container {
  const named = podAnnotations(workload)[DEFAULT_CONTAINER];
  const container = named ? workload.spec.containers.find((c) => c.name === named) : workload.spec.containers[0];
  if (!container) throw new Error(`${workload.name}: no container ${named}`);
  return container;
}

/** The annotations of a workload's pod template. */
export const podAnnotations = (workload: Workload): Record<string, string> =>
  (workload.object.spec as { template: { metadata?: { annotations?: Record<string, string> } } }).template.metadata
    ?.annotations ?? {};

/** Whether a label selector's matchLabels (or a Service's plain selector) picks pods with these labels. */
export const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined && Object.entries(selector).every(([key, value]) => labels[key] === value);

/** Stand-ins for the keys of the Secret `lab-secrets`, created by hand (README), for containerEnv. */
export const TEST_SECRETS = {
  JWT_SECRET: "a-test-secret-of-more-than-32-characters-0123",
  POSTGRES_PASSWORD: "test-password",
  GRAFANA_ADMIN_PASSWORD: "test-admin",
};

/** A container's environment as the kubelet builds it: envFrom ConfigMaps, then env with $(NAME) expanded; `secrets` stands in for the Secrets' keys. */
export function containerEnv(objects: K8sObject[], container: Container, secrets: Record<string, string> = {}) {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const configMap = objects.find(
      (object) => object.kind === "ConfigMap" && object.metadata.name === source.configMapRef?.name,
    ) as { data: Record<string, string> } | undefined;
    Object.assign(env, configMap?.data);
  }
  for (const variable of container.env ?? []) {
    const secret = variable.valueFrom?.secretKeyRef;
    env[variable.name] = secret
      ? (secrets[secret.key] ?? "")
      : (variable.value ?? "").replace(/\$\(([A-Z0-9_]+)\)/g, (_, name: string) => env[name] ?? "");
  }
  return env;
}
