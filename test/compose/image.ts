import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix } from "node:path";
import ignore from "@balena/dockerignore";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { runCommand } from "../../scripts/lib/process";
import { ROOT } from "./compose";

export const dockerfileText = () => readFileSync(join(ROOT, "Dockerfile"), "utf8");
export const parseDockerfile = () => DockerfileParser.parse(dockerfileText());

/** The files of the build context as Docker sends it: everything under ROOT that .dockerignore keeps. */
export function buildContext(): Set<string> {
  const rules = ignore().add(readFileSync(join(ROOT, ".dockerignore"), "utf8"));
  const files = new Set<string>();
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(ROOT, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (rules.ignores(path)) continue;
      if (entry.isDirectory()) walk(path);
      else files.add(path);
    }
  };
  walk("");
  return files;
}

/** An image as the emulated build left it: its filesystem under `root`, and how it runs. */
export type EmulatedImage = {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  expose: string[];
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
};

type Stage = EmulatedImage & { name: string; args: Record<string, string> };

const substitute = (text: string, values: Record<string, string>) =>
  text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string, bare: string) => values[braced ?? bare] ?? "");

/** `cp -al`: a stage's files hard-linked, not copied (node_modules is large); writes replace, never modify. */
function linkTree(from: string, to: string) {
  mkdirSync(dirname(to), { recursive: true });
  const result = Bun.spawnSync(["cp", "-al", "--no-target-directory", from, to]);
  if (result.exitCode !== 0) throw new Error(`cp -al ${from} ${to}: ${result.stderr.toString()}`);
}

const jsonForm = (instruction: Instruction) => JSON.parse(instruction.getArgumentsContent() ?? "[]") as string[];

/**
 * Builds the Dockerfile's final stage without Docker, to prove what can be proved here: each stage
 * gets a directory for its filesystem; COPY takes files from the build context as .dockerignore
 * filters it (or from an earlier stage), RUN runs its shell command there with the stage's ARGs and
 * ENVs, and ARG/ENV/WORKDIR/USER/EXPOSE/HEALTHCHECK/ENTRYPOINT/CMD are recorded. The base images'
 * own files are not reproduced: their `bun` is this machine's Bun, of the same release line.
 */
export async function emulateBuild(buildArgs: Record<string, string>, target?: string): Promise<EmulatedImage> {
  const dockerfile = parseDockerfile();
  const context = buildContext();
  const globalArgs = Object.fromEntries(
    dockerfile.getInitialARGs().map((arg) => [arg.getProperty()?.getName() ?? "", arg.getProperty()?.getValue() ?? ""]),
  );
  const stages: Stage[] = [];
  const base = mkdtempSync(join(tmpdir(), "lab-image-"));
  let stage: Stage | undefined;
  const inStage = (path: string) => join(stage!.root, path);
  const resolve = (path: string) => posix.resolve(stage!.workdir, path);

  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === "FROM") {
      if (target && stage?.name === target) break;
      const name = instruction.getArguments()[2]?.getValue() ?? `stage${stages.length}`;
      const parent = stages.find((s) => s.name === instruction.getArguments()[0]?.getValue());
      const root = join(base, name);
      if (parent) {
        linkTree(parent.root, root);
        stage = { ...structuredClone(parent), name, root, args: {} };
      } else {
        mkdirSync(root, { recursive: true });
        stage = { name, root, workdir: "/", env: {}, args: {}, expose: [], entrypoint: [], cmd: [], healthcheck: [] };
      }
      stages.push(stage);
      continue;
    }
    if (!stage) continue;
    const values = { ...stage.args, ...stage.env };
    const words = instruction.getArguments().map((argument) => substitute(argument.getValue(), values));
    switch (keyword) {
      case "ARG": {
        const [name = "", fallback] = (instruction.getArgumentsContent() ?? "").split("=");
        stage.args[name] = buildArgs[name] ?? fallback ?? globalArgs[name] ?? "";
        break;
      }
      case "ENV":
        for (const word of words) {
          const at = word.indexOf("=");
          stage.env[word.slice(0, at)] = word.slice(at + 1);
        }
        break;
      case "WORKDIR":
        stage.workdir = resolve(words[0] ?? "/");
        mkdirSync(inStage(stage.workdir), { recursive: true });
        break;
      case "COPY": {
        const from = (instruction as unknown as { getFromFlag(): { getValue(): string } | null })
          .getFromFlag()
          ?.getValue();
        const destination = resolve(words.at(-1) ?? ".");
        const many = words.length > 2 || (words.at(-1) ?? "").endsWith("/");
        for (const source of words.slice(0, -1)) {
          if (from) {
            const origin = stages.find((s) => s.name === from);
            if (!origin) throw new Error(`COPY --from=${from}: no such stage`);
            linkTree(join(origin.root, source), inStage(destination));
            continue;
          }
          const path = posix.normalize(source).replace(/\/$/, "");
          const matches = [...context].filter((file) => file === path || file.startsWith(`${path}/`));
          if (matches.length === 0)
            throw new Error(`COPY ${source}: not in the build context (missing, or excluded by .dockerignore)`);
          for (const file of matches) {
            const target =
              file === path
                ? many
                  ? join(destination, basename(file))
                  : destination
                : join(destination, file.slice(path.length + 1));
            mkdirSync(dirname(inStage(target)), { recursive: true });
            rmSync(inStage(target), { force: true });
            cpSync(join(ROOT, file), inStage(target));
          }
        }
        break;
      }
      case "RUN": {
        // The shell expands the ARGs and ENVs itself, as Docker leaves it to.
        const script = instruction.getArgumentsContent() ?? "";
        const { stdout, stderr, code } = await runCommand(["sh", "-c", script], {
          cwd: inStage(stage.workdir),
          env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: process.env.HOME ?? "/tmp",
            ...stage.args,
            ...stage.env,
          },
        });
        if (code !== 0) throw new Error(`RUN ${script} exited ${code}:\n${stdout}${stderr}`);
        break;
      }
      case "USER":
        stage.user = words[0];
        break;
      case "EXPOSE":
        stage.expose.push(...words);
        break;
      case "ENTRYPOINT":
        stage.entrypoint = jsonForm(instruction);
        break;
      case "CMD":
        stage.cmd = jsonForm(instruction);
        break;
      case "HEALTHCHECK": {
        const content = instruction.getArgumentsContent() ?? "";
        stage.healthcheck = JSON.parse(content.slice(content.indexOf("CMD") + 3).trim());
        break;
      }
    }
  }
  if (!stage) throw new Error("Dockerfile has no FROM");
  if (target && stage.name !== target) throw new Error(`Dockerfile has no stage ${target}`);
  return stage;
}

/** A path inside the emulated image, on this machine. */
export const hostPath = (image: EmulatedImage, path: string) =>
  path.startsWith("/") && existsSync(join(image.root, path)) ? join(image.root, path) : path;

/** Runs a command of the image (its paths mapped to the emulated filesystem) in the image's workdir. */
export function runInImage(image: EmulatedImage, command: string[], env: Record<string, string>) {
  return Bun.spawn(
    command.map((word) => hostPath(image, word)),
    {
      cwd: join(image.root, image.workdir),
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: image.root, ...image.env, ...env },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
}
