import { expect, setDefaultTimeout } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SERVICE_NAMES, type ServiceName } from "@lab/shared";
import { podsAt, unitCosts } from "../../scripts/experiments/report/unit-costs";
import { needs } from "../tools";
import { K8S_DIR, type K8sObject, render } from "./kustomize";

const { test } = needs(["kubectl"]);

// kubectl kustomize renders each folder once per file; on a loaded machine that takes a while
setDefaultTimeout(120_000);

/**
 * The autoscalers' maximum against docs/scaling.md's plan, both from the committed runs: the lab's
 * (05-workers) must carry 10,000 req/s, and deploy/k8s/examples/replicas-100k must carry 100,000,
 * as deploy/k8s/README.md's table says.
 */
const LAB = "experiments/05-workers";
const EXAMPLE = "examples/replicas-100k";
const costs = await unitCosts();

const maxReplicas = (objects: K8sObject[]) =>
  Object.fromEntries(
    objects
      .filter((object) => object.kind === "HorizontalPodAutoscaler")
      .map((object) => [object.metadata.name, (object.spec as { maxReplicas: number }).maxReplicas]),
  );

test("the lab's autoscalers carry docs/scaling.md's 10,000 req/s, and stop at one maximum for every app", async () => {
  const lab = maxReplicas(await render(LAB));
  const labMax = new Set(Object.values(lab));
  expect(labMax.size).toBe(1);
  for (const service of SERVICE_NAMES)
    expect(lab[service], service).toBeGreaterThanOrEqual(podsAt(costs, service, 10_000));
  // … and no more than that: 100,000 req/s is the example's, not the lab's
  expect(SERVICE_NAMES.some((service) => podsAt(costs, service, 100_000) > lab[service]!)).toBe(true);
});

test("examples/replicas-100k raises each service's maximum to the pods planned at 100,000 req/s, the rest kept", async () => {
  const lab = maxReplicas(await render(LAB));
  const example = maxReplicas(await render(EXAMPLE));
  expect(Object.keys(example).sort()).toEqual(Object.keys(lab).sort());
  for (const service of SERVICE_NAMES)
    expect(example[service], service).toBe(Math.max(lab[service]!, podsAt(costs, service, 100_000)));
  expect(example.web).toBe(lab.web);
});

test("deploy/k8s/README.md's table states those figures", async () => {
  const lab = maxReplicas(await render(LAB));
  const example = maxReplicas(await render(EXAMPLE));
  const readme = readFileSync(join(K8S_DIR, "README.md"), "utf8");
  const row = (service: ServiceName) =>
    `| ${service} | ${podsAt(costs, service, 10_000)} | ${podsAt(costs, service, 100_000)} | ${lab[service]} | ${example[service]} |`;
  for (const service of SERVICE_NAMES) expect(readme, service).toContain(row(service));
  expect(readme).toContain(`The lab's autoscalers stop at ${lab.course} pods per app`);
});
