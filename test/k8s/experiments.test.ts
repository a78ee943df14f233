import { expect, setDefaultTimeout } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  changedFlags,
  experimentNames,
  FLAG_NAMES,
  type Flags,
  loadExperiment,
} from "../../scripts/experiments/results/flags";
import { needs } from "../tools";
import { containerEnv, K8S_DIR, type K8sObject, kustomizations, render, workloads } from "./kustomize";

const { describe, test } = needs(["kubectl"]);

// kubectl kustomize renders each folder once per file; on a loaded machine that takes a while
setDefaultTimeout(120_000);

/** Every app: the Deployments whose pods carry the experiment flags. */
const APP_COMPONENTS = new Set(["service", "web"]);
/** The one component each rung adds over the previous one (deploy/k8s/components), in ladder order. */
const FIX_OF_RUNG: Record<string, string | null> = {
  "01-baseline": null,
  "02-trgm-index": "search-index-trgm",
  "03-pool": "pool-pgbouncer",
  "04-redis": "cache-redis",
  "05-workers": "replicas",
};

const kustomization = (experiment: string) =>
  Bun.YAML.parse(readFileSync(join(K8S_DIR, "experiments", experiment, "kustomization.yaml"), "utf8")) as {
    resources?: string[];
    components?: string[];
  };

type HorizontalPodAutoscaler = K8sObject & {
  spec: {
    scaleTargetRef: { kind: string; name: string };
    minReplicas: number;
    maxReplicas: number;
    metrics: { type: string; resource?: { name: string; target: { type: string } } }[];
  };
};

/**
 * The flags one app runs with in a rendered overlay, as flags.env states them. WORKERS is the
 * processes per app: WORKERS per pod times the pods it runs at the least (the autoscaler's
 * minReplicas, else the Deployment's replicas), the mapping deploy/k8s/components/replicas describes.
 */
function effectiveFlags(objects: K8sObject[], app: ReturnType<typeof workloads>[number]): Flags & { perPod: string } {
  const env = containerEnv(objects, app.spec.containers[0]!);
  const autoscaler = objects.find(
    (object) =>
      object.kind === "HorizontalPodAutoscaler" &&
      (object as HorizontalPodAutoscaler).spec.scaleTargetRef.name === app.name,
  ) as HorizontalPodAutoscaler | undefined;
  const pods = autoscaler?.spec.minReplicas ?? (app.object.spec as { replicas?: number }).replicas ?? 1;
  const flags = Object.fromEntries(FLAG_NAMES.map((name) => [name, env[name]])) as Flags;
  return { ...flags, WORKERS: String(Number(env.WORKERS) * pods), perPod: env.WORKERS ?? "" };
}

test("an overlay per experiment, and an experiment per overlay", () => {
  expect(kustomizations().filter((dir) => dir.startsWith("experiments/"))).toEqual(
    experimentNames().map((name) => `experiments/${name}`),
  );
  expect(Object.keys(FIX_OF_RUNG)).toEqual(experimentNames());
});

describe("each overlay composes the ladder's fixes in order", () => {
  const names = experimentNames();
  names.forEach((experiment, index) => {
    test(experiment, () => {
      const expected = names
        .slice(0, index + 1)
        .map((name) => FIX_OF_RUNG[name])
        .filter((fix) => fix !== null)
        .map((fix) => `../../components/${fix}`);
      expect(kustomization(experiment).resources).toEqual(["../../base"]);
      expect(kustomization(experiment).components ?? []).toEqual(expected);
    });
  });
});

describe("each overlay's settings equal its experiment's flags.env", () => {
  for (const name of experimentNames()) {
    test(name, async () => {
      const { flags } = await loadExperiment(name);
      const objects = await render(`experiments/${name}`);
      const apps = workloads(objects).filter((app) =>
        APP_COMPONENTS.has(app.labels["app.kubernetes.io/component"] ?? ""),
      );
      expect(apps.map((app) => app.name).sort()).toEqual([
        "course",
        "enrollment",
        "identity",
        "notification",
        "payment",
        "web",
      ]);
      for (const app of apps) {
        const { perPod, ...effective } = effectiveFlags(objects, app);
        expect(effective, app.name).toEqual(flags);
        // one process per pod: Kubernetes scales pods (components/replicas)
        expect(perPod, `${app.name} WORKERS per pod`).toBe("1");
      }
    });
  }

  test("what one rung changes over the previous is what its component sets", async () => {
    const names = experimentNames();
    for (let index = 1; index < names.length; index++) {
      const rung = names[index]!;
      const before = (await loadExperiment(names[index - 1]!)).flags;
      const after = (await loadExperiment(rung)).flags;
      const component = Bun.YAML.parse(
        readFileSync(join(K8S_DIR, "components", FIX_OF_RUNG[rung]!, "kustomization.yaml"), "utf8"),
      ) as { configMapGenerator?: { name: string; literals?: string[] }[] };
      const set = (component.configMapGenerator ?? [])
        .filter((generator) => generator.name === "lab-flags")
        .flatMap((generator) => generator.literals ?? [])
        .map((literal) => literal.split("=")[0]);
      expect(set.sort(), rung).toEqual(Object.keys(changedFlags(before, after)).sort());
    }
  });

  test("the flags are compared, not assumed: a rung's overlay differs from the one before it", async () => {
    const [first, second] = experimentNames();
    const app = (objects: K8sObject[]) => workloads(objects).find((workload) => workload.name === "course")!;
    const baseline = await render(`experiments/${first}`);
    const next = await render(`experiments/${second}`);
    expect(effectiveFlags(baseline, app(baseline))).not.toEqual(effectiveFlags(next, app(next)));
  });
});

describe("replicas: more processes are more pods, scaled on CPU", () => {
  test("each app's autoscaler targets its Deployment, on CPU utilisation of a CPU request the pods set", async () => {
    const objects = await render("experiments/05-workers");
    const autoscalers = objects.filter(
      (object) => object.kind === "HorizontalPodAutoscaler",
    ) as HorizontalPodAutoscaler[];
    const apps = workloads(objects).filter((app) =>
      APP_COMPONENTS.has(app.labels["app.kubernetes.io/component"] ?? ""),
    );
    expect(autoscalers.map((hpa) => hpa.spec.scaleTargetRef.name).sort()).toEqual(apps.map((app) => app.name).sort());
    for (const hpa of autoscalers) {
      const app = apps.find((candidate) => candidate.name === hpa.spec.scaleTargetRef.name)!;
      expect(hpa.spec.scaleTargetRef.kind).toBe("Deployment");
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.metrics).toEqual([
        { type: "Resource", resource: { name: "cpu", target: expect.objectContaining({ type: "Utilization" }) } },
      ]);
      expect(app.spec.containers[0]?.resources?.requests?.cpu, `${app.name} CPU request`).toBeDefined();
      // spread over nodes, each app's pods by themselves
      expect((app.spec as { topologySpreadConstraints?: unknown }).topologySpreadConstraints, app.name).toEqual([
        expect.objectContaining({ topologyKey: "kubernetes.io/hostname", matchLabelKeys: ["app.kubernetes.io/name"] }),
      ]);
      // a replicas field of its own would undo the autoscaler on every apply
      expect((app.object.spec as { replicas?: number }).replicas, app.name).toBeUndefined();
    }
  });

  test("before 05 no app is autoscaled", async () => {
    for (const name of experimentNames().filter((name) => name !== "05-workers")) {
      const objects = await render(`experiments/${name}`);
      expect(
        objects.filter((object) => object.kind === "HorizontalPodAutoscaler"),
        name,
      ).toEqual([]);
    }
  });
});
