import { afterAll, expect, setDefaultTimeout } from "bun:test";
import { SERVICE_NAMES } from "@lab/shared";
import { runCommand } from "../../scripts/lib/process";
import { type ServiceProcess, spawnService, stopService } from "../flags/service-process";
import { freshDatabase } from "../support";
import { needs } from "../tools";
import { render, workloads } from "./kustomize";

const { test } = needs(["kubectl"]);

// six apps start at once, each migrating its database
setDefaultTimeout(120_000);

/**
 * A checkout under /tmp (a CI clone may be) would vanish under the fresh tmpfs: it is set aside
 * first and bound back, read-only, at its own path.
 */
const READ_ONLY_SCRIPT = [
  "mount -o remount,bind,ro /",
  'case "$PWD" in /tmp/*) mount --rbind /tmp /mnt ;; esac',
  "mount -t tmpfs -o size=64m tmpfs /tmp",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
  'case "$PWD" in /tmp/*) mkdir -p "$PWD" && mount --bind "/mnt${PWD#/tmp}" "$PWD" && mount -o remount,bind,ro "$PWD" ;; esac',
  'cd "$PWD"',
  'exec "$@"',
].join(" && ");

/**
 * deploy/k8s runs every app with a read-only root filesystem and an emptyDir at /tmp. Here each app
 * runs the same way on this machine's Bun: in a mount namespace of its own (root may make one),
 * with / remounted read-only and a fresh tmpfs on /tmp, then must migrate, build its assets and
 * answer /readyz. The image's own filesystem is the one thing this does not reproduce.
 */
const READ_ONLY_ROOT = [
  "unshare",
  "--mount",
  "--propagation",
  "private",
  "sh",
  "-c",
  READ_ONLY_SCRIPT,
  "read-only-root",
];

const started: ServiceProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((app) => stopService(app)));
});

test("the manifests ask for exactly this: read-only root, /tmp an emptyDir, for every app", async () => {
  const apps = workloads(await render("base")).filter((workload) =>
    ["service", "web"].includes(workload.labels["app.kubernetes.io/component"] ?? ""),
  );
  expect(apps.length).toBe(SERVICE_NAMES.length + 1);
  for (const app of apps) {
    const container = app.spec.containers[0]!;
    expect(container.securityContext?.readOnlyRootFilesystem, app.name).toBe(true);
    const writable = container.volumeMounts?.map((mount) => mount.mountPath);
    expect(writable, app.name).toEqual(["/tmp"]);
    const tmp = app.spec.volumes?.find((volume) => volume.name === container.volumeMounts?.[0]?.name);
    expect(tmp?.emptyDir, app.name).toBeDefined();
  }
});

test("the wrapper does make the root read-only", async () => {
  const { stdout, stderr, code } = await runCommand([
    ...READ_ONLY_ROOT,
    "sh",
    "-c",
    "touch /read-only-probe; echo $?; touch /tmp/probe; echo $?",
  ]);
  expect(code, stderr).toBe(0);
  expect(stdout.trim().split("\n")).toEqual(["1", "0"]);
});

test("every app starts, migrates and is ready with only /tmp writable", async () => {
  const env = {
    NODE_ENV: "production",
    JWT_SECRET: "a-test-secret-of-more-than-32-characters-0123",
    SEARCH_INDEX: "trgm",
  };
  const apps = await Promise.all([
    ...SERVICE_NAMES.map(async (name) =>
      spawnService(name, { ...env, DATABASE_URL: await freshDatabase(name) }, { wrapper: READ_ONLY_ROOT }),
    ),
    spawnService("web", env, { wrapper: READ_ONLY_ROOT }),
  ]);
  started.push(...apps);
  for (const app of apps) expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
});
