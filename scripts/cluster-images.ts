/**
 * bun run cluster:images [--tag TAG] [--registry REGISTRY] [--kind-cluster NAME | --push | --no-load] [--dry-run]
 * Builds the seven images deploy/k8s runs from the repo's Dockerfile (the five services, web, and
 * the tools image of the seed and Locust Jobs) with Docker, then loads them into kind (default),
 * pushes them to REGISTRY (--push), or leaves them in Docker (--no-load). --dry-run prints the
 * commands instead of running them. Needs docker, and kind for the default.
 */
import { SERVICE_NAMES, SERVICES, WEB_PORT } from "@lab/shared";
import { parseCommandLine } from "./lib/args";
import { ROOT } from "./lib/root";

/** One image: its name in deploy/k8s (coursework-lab/<name>) and its Dockerfile build arguments. */
export type ImageBuild = { name: string; buildArgs: Record<string, string>; target?: string };

export const IMAGES: ImageBuild[] = [
  ...SERVICE_NAMES.map((name) => ({
    name,
    buildArgs: { APP_DIR: `services/${name}`, APP_PORT: String(SERVICES[name].port) },
  })),
  { name: "web", buildArgs: { APP_DIR: "web-htmx", APP_PORT: String(WEB_PORT) } },
  { name: "tools", buildArgs: {}, target: "tools" },
];

export type ImageOptions = {
  tag: string;
  registry?: string;
  /** kind: `kind load docker-image` into the cluster; push: `docker push`; none: leave them in Docker. */
  load: { to: "kind"; cluster: string } | { to: "push" } | { to: "none" };
};

/** The image reference as the cluster pulls it: coursework-lab/<name> unless a registry replaces the prefix. */
export const imageRef = (name: string, options: ImageOptions) =>
  `${options.registry ? options.registry.replace(/\/+$/, "") : "coursework-lab"}/${name}:${options.tag}`;

/** Every command, in order: the seven builds, then the load or push. */
export function imageCommands(options: ImageOptions): string[][] {
  const commands: string[][] = IMAGES.map((image) => [
    "docker",
    "build",
    ...Object.entries(image.buildArgs).flatMap(([key, value]) => ["--build-arg", `${key}=${value}`]),
    ...(image.target ? ["--target", image.target] : []),
    "-t",
    imageRef(image.name, options),
    ROOT,
  ]);
  const refs = IMAGES.map((image) => imageRef(image.name, options));
  if (options.load.to === "kind")
    commands.push(["kind", "load", "docker-image", "--name", options.load.cluster, ...refs]);
  if (options.load.to === "push") for (const ref of refs) commands.push(["docker", "push", ref]);
  return commands;
}

/** Reads the command line into options; throws a usage error as a message. */
export function parseImageOptions(values: {
  tag?: string;
  registry?: string;
  "kind-cluster"?: string;
  push?: boolean;
  "no-load"?: boolean;
}): ImageOptions {
  const tag = values.tag ?? "latest";
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new Error(`--tag ${tag} is not a Docker tag`);
  const registry = values.registry;
  if (registry !== undefined && !/^[a-z0-9][\w.:/-]*$/i.test(registry))
    throw new Error(`--registry ${registry} is not a registry host and path`);
  const chosen = [values["kind-cluster"] !== undefined, values.push, values["no-load"]].filter(Boolean).length;
  if (chosen > 1) throw new Error("choose one of --kind-cluster, --push and --no-load");
  if (values.push && !registry) throw new Error("--push needs --registry: Docker Hub's coursework-lab is not yours");
  const load: ImageOptions["load"] = values.push
    ? { to: "push" }
    : values["no-load"]
      ? { to: "none" }
      : { to: "kind", cluster: values["kind-cluster"] ?? "kind" };
  return { tag, registry, load };
}

const quote = (arg: string) => (/^[\w./:=@-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);

if (import.meta.main) {
  const { values, fail } = parseCommandLine({
    name: "cluster:images",
    usage:
      "usage: bun run cluster:images [--tag TAG] [--registry REGISTRY] [--kind-cluster NAME | --push | --no-load] [--dry-run]",
    help: `Builds the seven images of deploy/k8s (five services, web, tools) from the Dockerfile, then:
  (default)            loads them into the kind cluster named kind
  --kind-cluster NAME  … into this kind cluster
  --push               pushes them to --registry
  --no-load            leaves them in Docker (minikube's docker-env, or load them yourself)
  --tag TAG            the images' tag (default latest: what deploy/k8s runs without the tag component)
  --registry REGISTRY  replaces coursework-lab/ in the names (the container-images-registry component)
  --dry-run            prints the commands, runs nothing`,
    options: {
      tag: { type: "string" },
      registry: { type: "string" },
      "kind-cluster": { type: "string" },
      push: { type: "boolean" },
      "no-load": { type: "boolean" },
      "dry-run": { type: "boolean" },
    },
  });
  let options: ImageOptions;
  try {
    options = parseImageOptions(values);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const commands = imageCommands(options!);
  if (values["dry-run"]) {
    for (const command of commands) console.log(command.map(quote).join(" "));
    process.exit(0);
  }
  for (const tool of new Set(commands.map((command) => command[0]!))) {
    if (!Bun.which(tool)) {
      console.error(
        `cluster:images: ${tool} is not installed${tool === "kind" ? " (https://kind.sigs.k8s.io; or --no-load, --push)" : ""}`,
      );
      process.exit(1);
    }
  }
  for (const command of commands) {
    console.log(`$ ${command.map(quote).join(" ")}`);
    const run = Bun.spawn(command, { stdio: ["inherit", "inherit", "inherit"] });
    const code = await run.exited;
    if (code !== 0) {
      console.error(`cluster:images: ${command.slice(0, 2).join(" ")} failed (exit ${code})`);
      process.exit(1);
    }
  }
}
