import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICE_NAMES, SERVICES, type ServiceName, WEB_PORT } from "@lab/shared";
import { runCommand } from "../../scripts/lib/process";

export const ROOT = join(import.meta.dir, "../..");

export type Healthcheck = { test: string[] | string; interval?: string; start_period?: string };
export type DependsOn = Record<string, { condition: string }>;
export type Port = string | { target: number; published: string | number; host_ip?: string };
export type ComposeService = {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string>;
  ports?: Port[];
  volumes?: (string | { type: string; source: string; target: string; read_only?: boolean })[];
  healthcheck?: Healthcheck;
  depends_on?: DependsOn;
  profiles?: string[];
  pid?: string;
  restart?: string;
  init?: boolean;
  deploy?: { resources?: { limits?: { cpus?: string | number; memory?: string } } };
};
export type ComposeConfig = { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };

/** The stack's apps: the five services and the web app, by compose service name. */
export const APPS = [
  ...SERVICE_NAMES.map((name) => ({
    service: name as string,
    name,
    dir: `services/${name}`,
    port: SERVICES[name].port,
  })),
  { service: "web", name: "web" as const, dir: "web-htmx", port: WEB_PORT },
];
export type App = (typeof APPS)[number];
export const isService = (app: App): app is App & { name: ServiceName } => app.name !== "web";

/** The development override is read by default next to compose.yaml; production names its files. */
export const VARIANTS = {
  base: ["compose.yaml"],
  dev: ["compose.yaml", "compose.override.yaml"],
  prod: ["compose.yaml", "compose.prod.yaml"],
} as const;
export type Variant = keyof typeof VARIANTS;

/** A secret long enough for NODE_ENV=production. */
export const PROD_SECRET = "compose-test-secret-0123456789abcdefghij";

export function dockerComposeBinary(): string {
  const binary = Bun.which("docker-compose");
  if (!binary) {
    throw new Error(
      "docker-compose is not installed, so the compose files cannot be validated: apt-get install docker-compose (.ci/run does)",
    );
  }
  return binary;
}

// An empty env file keeps a developer's own .env out of what the tests resolve.
const emptyEnvFile = join(mkdtempSync(join(tmpdir(), "lab-compose-")), "empty.env");
writeFileSync(emptyEnvFile, "");

export type ConfigRun = { exitCode: number; stdout: string; stderr: string };

/**
 * `docker-compose config` for a set of files, as a user's shell would run it: only PATH and HOME
 * from this process (the test runner's own NODE_ENV and LOG_LEVEL must not leak into the stack),
 * plus `env`, and `envFile` (an experiment's flags.env) in place of .env.
 */
export async function composeConfig(options: {
  files: readonly string[];
  profiles?: string[];
  pid?: string;
  envFile?: string;
  env?: Record<string, string>;
}): Promise<ConfigRun> {
  const args = [dockerComposeBinary(), "--project-directory", ROOT, "--env-file", options.envFile ?? emptyEnvFile];
  for (const file of options.files) args.push("-f", join(ROOT, file));
  for (const profile of options.profiles ?? []) args.push("--profile", profile);
  args.push("config");
  const { stdout, stderr, code } = await runCommand(args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...options.env },
  });
  return { exitCode: code, stdout, stderr };
}

/** The resolved configuration; throws with docker-compose's own message when it rejects the files. */
export async function resolvedConfig(
  variant: Variant,
  options: { profiles?: string[]; envFile?: string; env?: Record<string, string> } = {},
): Promise<ComposeConfig> {
  const env = variant === "prod" ? { JWT_SECRET: PROD_SECRET, ...options.env } : options.env;
  const run = await composeConfig({ files: VARIANTS[variant], ...options, env });
  if (run.exitCode !== 0) {
    throw new Error(`docker-compose config (${VARIANTS[variant].join(" + ")}) failed:\n${run.stderr}`);
  }
  return Bun.YAML.parse(run.stdout) as ComposeConfig;
}

/** The published host port and container port of a `ports` entry in docker-compose's resolved form. */
export function portMapping(port: Port): { host: number; container: number; hostIp?: string } {
  if (typeof port !== "string") return { host: Number(port.published), container: port.target, hostIp: port.host_ip };
  const match = /^(?:(.+):)?(\d+):(\d+)(?:\/tcp)?$/.exec(port);
  if (!match) throw new Error(`unexpected port entry ${port}`);
  return { hostIp: match[1], host: Number(match[2]), container: Number(match[3]) };
}

/** A bind mount's host path and container path, in docker-compose's resolved short form. */
export function volumeMount(volume: NonNullable<ComposeService["volumes"]>[number]) {
  if (typeof volume !== "string") return { source: volume.source, target: volume.target };
  const [source = "", target = ""] = volume.split(":");
  return { source, target };
}

/** Runs docker/entrypoint.sh with exactly `env` and returns the environment it hands to the app. */
export async function environmentAfterEntrypoint(env: Record<string, string>): Promise<Record<string, string>> {
  const { stdout, stderr, code } = await runCommand(["sh", join(ROOT, "docker/entrypoint.sh"), "env"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
  });
  if (code !== 0) throw new Error(`docker/entrypoint.sh exited ${code}: ${stderr}`);
  const result: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) result[line.slice(0, at)] = line.slice(at + 1);
  }
  return result;
}
