import { expect, setDefaultTimeout } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkReferences, SERVICE_LIKE, scanDoc } from "../docs/doc-check";
import { envKeys, envValueProblem, pathExistsIn, repoIndex } from "../docs/repo-facts";
import { needs } from "../tools";
import { examples, K8S_DIR, kustomizations, render, workloads } from "./kustomize";

const { test } = needs(["kubectl"]);

// kubectl kustomize renders each folder once per file; on a loaded machine that takes a while
setDefaultTimeout(120_000);

const README = "deploy/k8s/README.md";
const readme = readFileSync(join(K8S_DIR, "README.md"), "utf8");

/** Every variable and key the manifests set or read: what the README may name besides EnvSchema's. */
async function manifestVariables(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const dir of kustomizations()) {
    for (const workload of workloads(await render(dir))) {
      for (const container of workload.spec.containers) {
        for (const variable of container.env ?? []) {
          names.add(variable.name);
          for (const reference of Object.values(variable.valueFrom ?? {})) names.add(reference.key);
        }
      }
    }
  }
  return names;
}

test("deploy/k8s/README.md names only files, variables and links that exist, and no endpoint", async () => {
  const scanned = scanDoc(readme, SERVICE_LIKE);
  const locustfile = readFileSync(join(K8S_DIR, "../../locustfile.py"), "utf8");
  const problems = checkReferences(
    scanned.references,
    {
      // the README names no endpoint in a code span: the checker would need the services' routes
      routes: {},
      envKeys,
      envValueProblem,
      toolVariables: new Set(
        [...(await manifestVariables())].concat(locustfile.includes('"LAB_PROFILE"') ? ["LAB_PROFILE"] : []),
      ),
      generatedPaths: new Set([".data/"]),
      pathExists: pathExistsIn(repoIndex()),
    },
    "deploy/k8s",
  );
  expect([...scanned.problems, ...problems].map((problem) => `${README}:${problem.line}: ${problem.message}`)).toEqual(
    [],
  );
  // the checker does read this README: the paths it names are there to be checked
  expect(scanned.references.filter((reference) => reference.kind === "path").length).toBeGreaterThan(5);
});

test("the README's overlay table lists every overlay, and the commands name real ones", () => {
  for (const dir of kustomizations().filter((dir) => dir.startsWith("experiments/")))
    expect(readme).toContain(`| \`${dir.replace("experiments/", "")}\` |`);
  for (const [, dir] of readme.matchAll(/kubectl apply -k deploy\/k8s\/(\S+)/g))
    expect([...kustomizations(), ...examples(), "jobs"]).toContain(dir ?? "");
});

test("the Secret the README has you create carries the keys the pods read; the Jobs make the ConfigMaps", async () => {
  const keys = await manifestVariables();
  for (const [, key] of readme.matchAll(/--from-literal=([A-Z_]+)=/g)) expect(keys).toContain(key ?? "");
  for (const key of ["JWT_SECRET", "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"])
    expect(readme).toContain(`--from-literal=${key}=`);
  // the ConfigMaps `locust` and `locust-load` come from the locust-input Job (test/k8s/cluster.test.ts
  // checks what it writes against what the Locust pods mount), none by hand
  expect(readme).not.toContain("create configmap");
  expect(readme).toContain("kubectl apply -k deploy/k8s/jobs");
});
