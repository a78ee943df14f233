/**
 * bun --env-file=docker/host.env docker/locust-input.ts [FILE]
 * bun docker/locust-input.ts --configmaps        (in a cluster: the Job deploy/k8s/base/jobs/locust-input.yaml)
 * Writes what locustfile.py reads (LAB_INPUT_FILE: the password, seeded accounts, search words) from
 * the seeded identity database, to .data/locust-input.json by default: the file compose.yaml mounts
 * into the Locust containers of the "load" profile. With --configmaps it instead applies the
 * ConfigMaps distributed Locust mounts in a cluster, through the Kubernetes API with the pod's
 * service account: `locust` (locustfile.py and input.json) and `locust-load` (the load/ package).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type LocustInput, readLocustInput } from "../scripts/experiments/run/locust-input";
import { parseCommandLine } from "../scripts/lib/args";

const ROOT = join(import.meta.dir, "..");
const SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

type ConfigMap = {
  apiVersion: "v1";
  kind: "ConfigMap";
  metadata: { name: string; labels: Record<string, string> };
  data: Record<string, string>;
};

/** The two ConfigMaps of distributed Locust (deploy/k8s/base/load/locust.yaml mounts them), from the repo's files. */
export function locustConfigMaps(input: LocustInput, root = ROOT): ConfigMap[] {
  const labels = { "app.kubernetes.io/part-of": "coursework-lab", "app.kubernetes.io/component": "load" };
  const load = Object.fromEntries(
    readdirSync(join(root, "load"))
      .filter((file) => file.endsWith(".py"))
      .sort()
      .map((file) => [file, readFileSync(join(root, "load", file), "utf8")]),
  );
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "locust", labels },
      data: { "locustfile.py": readFileSync(join(root, "locustfile.py"), "utf8"), "input.json": JSON.stringify(input) },
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "locust-load", labels }, data: load },
  ];
}

/** Server-side apply of one ConfigMap in the pod's own namespace: creates it, or replaces its data. */
async function apply(configMap: ConfigMap) {
  const token = readFileSync(join(SERVICE_ACCOUNT, "token"), "utf8").trim();
  const namespace = readFileSync(join(SERVICE_ACCOUNT, "namespace"), "utf8").trim();
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) throw new Error("KUBERNETES_SERVICE_HOST is not set: --configmaps runs inside a cluster's pod");
  const url = `https://${host.includes(":") ? `[${host}]` : host}:${port}/api/v1/namespaces/${namespace}/configmaps/${configMap.metadata.name}?fieldManager=locust-input&force=true`;
  const response = await fetch(url, {
    method: "PATCH",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/apply-patch+yaml" },
    body: JSON.stringify(configMap),
    tls: { ca: readFileSync(join(SERVICE_ACCOUNT, "ca.crt"), "utf8") },
  });
  if (!response.ok)
    throw new Error(`applying ConfigMap ${configMap.metadata.name}: ${response.status} ${await response.text()}`);
}

if (import.meta.main) {
  const { values, positionals, fail } = parseCommandLine({
    name: "locust-input",
    usage: "usage: bun --env-file=docker/host.env docker/locust-input.ts [FILE] | --configmaps",
    help: `Writes Locust's input (seeded accounts, password, search words) from the identity database at
IDENTITY_DATABASE_URL to FILE (default .data/locust-input.json, the file compose.yaml mounts).
  --configmaps  in a cluster's pod: apply the ConfigMaps locust and locust-load instead of a file`,
    options: { configmaps: { type: "boolean" } },
    positionals: { min: 0, max: 1 },
  });
  const url = process.env.IDENTITY_DATABASE_URL;
  if (!url) fail("IDENTITY_DATABASE_URL is not set: run with bun --env-file=docker/host.env docker/locust-input.ts");
  if (values.configmaps && positionals.length > 0) fail("--configmaps writes no FILE");
  const file = positionals[0] ?? join(ROOT, ".data/locust-input.json");
  let input: LocustInput;
  try {
    input = await readLocustInput(url as string);
  } catch (error) {
    console.error(
      `locust-input: reading ${new URL(url as string).host}: ${error instanceof Error ? error.message : error}`,
    );
    process.exit(1);
  }
  if (input.students.length === 0) {
    console.error("locust-input: the identity database has no seeded students: run the seed first");
    process.exit(1);
  }
  if (values.configmaps) {
    try {
      for (const configMap of locustConfigMaps(input)) await apply(configMap);
    } catch (error) {
      console.error(`locust-input: ${error instanceof Error ? error.message : error}`);
      process.exit(1);
    }
    console.log(
      `applied ConfigMaps locust and locust-load: ${input.students.length} students, ${input.teachers.length} teachers`,
    );
  } else {
    await Bun.write(file, JSON.stringify(input));
    console.log(`wrote ${file}`);
  }
}
