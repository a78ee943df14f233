import { beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { activeFlags, EnvSchema, parseEnv, SERVICE_NAMES, type ServiceName, signToken, verifyToken } from "@lab/shared";
import { type OpenApiDocument, openApiDocument } from "../../scripts/lib/apps";
import { CONTRACT_FILE, renderGenerated, withGenerated } from "../../scripts/lib/contract";
import { checkReferences, routeKey, scanDoc } from "./doc-check";
import { envKeys, envValueProblem, pathExistsIn, ROOT, repoIndex } from "./repo-facts";

/**
 * docs/contract.md: its generated part is what `bun run docs:contract` writes today, its flags are
 * EnvSchema's, its claims are those of the tokens identity signs and the services accept, and every
 * endpoint, variable, path and link it names exists.
 */

const documents = {} as Record<ServiceName, OpenApiDocument>;
let contract: string;

// a long timeout: building the five apps takes seconds, more on a busy machine
beforeAll(async () => {
  for (const name of SERVICE_NAMES) documents[name] = await openApiDocument(name);
  contract = await Bun.file(join(ROOT, CONTRACT_FILE)).text();
}, 120_000);

/** The rows of the first table under a `## heading`, as cells without their code ticks. */
function tableUnder(heading: string): string[][] {
  const section = contract.split(`\n## ${heading}\n`)[1]?.split("\n## ")[0] ?? "";
  return section
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("|---"))
    .slice(1)
    .map((line) =>
      line
        .slice(1, -1)
        .split(" | ")
        .map((cell) => cell.trim().replaceAll("`", "")),
    );
}

test("the generated part is what `bun run docs:contract` writes now", () => {
  const regenerated = withGenerated(contract, renderGenerated(documents));
  // a difference means a route changed without the contract: run `bun run docs:contract`
  expect(contract).toBe(regenerated);
});

test("every endpoint, variable, path and link it names exists", () => {
  const routes: Record<string, Set<string>> = { web: new Set() };
  for (const name of SERVICE_NAMES) {
    routes[name] = new Set(
      Object.entries(documents[name].paths).flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => routeKey(method, path)),
      ),
    );
  }
  const scanned = scanDoc(contract, SERVICE_NAMES);
  const facts = {
    routes,
    envKeys,
    envValueProblem,
    toolVariables: new Set<string>(),
    generatedPaths: new Set<string>(),
    pathExists: pathExistsIn(repoIndex()),
  };
  const problems = [...scanned.problems, ...checkReferences(scanned.references, facts, "docs")];
  expect(problems.map((problem) => `${CONTRACT_FILE}:${problem.line}: ${problem.message}`)).toEqual([]);
  expect(scanned.references.filter((reference) => reference.kind === "endpoint").length).toBeGreaterThan(15);
});

describe("experiment flags", () => {
  type FlagSchema = { anyOf?: { const: string }[]; minimum?: number; maximum?: number; default: unknown };
  const expected = (name: string) => {
    const schema = EnvSchema.properties[name as keyof typeof EnvSchema.properties] as unknown as FlagSchema;
    const values = schema.anyOf
      ? schema.anyOf.map((literal) => literal.const).join(" · ")
      : `${schema.minimum}–${schema.maximum}`;
    return [name, values, String(schema.default)];
  };

  test("are the flags the services report, with EnvSchema's values and defaults", () => {
    const flags = Object.keys(activeFlags(parseEnv({}, 1)));
    expect(tableUnder("Experiment flags").map((row) => row.slice(0, 3))).toEqual(flags.map(expected));
  });
});

describe("token claims", () => {
  const secret = "contract-test-secret";
  const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  /** A token built by hand, so a claim can be left out or the algorithm changed. */
  const handMade = (payload: Record<string, unknown>, alg = "HS256") => {
    const unsigned = `${base64url({ alg, typ: "JWT" })}.${base64url(payload)}`;
    const hash = { HS256: "sha256", HS384: "sha384" }[alg] as string;
    return `${unsigned}.${createHmac(hash, secret).update(unsigned).digest("base64url")}`;
  };
  const complete = () => {
    const now = Math.floor(Date.now() / 1000);
    return { sub: "7", role: "teacher", is_verified: true, name: "Ada", iat: now, exp: now + 600 };
  };
  const claimRows = () => tableUnder("Token claims");

  test("are exactly the claims of a token identity signs", async () => {
    const token = await signToken({ sub: 7, role: "teacher", is_verified: true, name: "Ada" }, secret, 600);
    const payload = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString());
    expect(
      claimRows()
        .map((row) => row[0])
        .sort(),
    ).toEqual(Object.keys(payload).sort());
    expect(Object.keys(complete()).sort()).toEqual(Object.keys(payload).sort());
  });

  test("a token without a claim marked required is refused; without an optional one, accepted", async () => {
    expect(await verifyToken(handMade(complete()), secret)).not.toBeNull();
    for (const [claim, , required] of claimRows()) {
      const payload: Record<string, unknown> = complete();
      delete payload[claim as string];
      const accepted = (await verifyToken(handMade(payload), secret)) !== null;
      expect({ claim, accepted }).toEqual({ claim, accepted: required === "no" });
    }
  });

  test("only HS256 is accepted", async () => {
    expect(contract).toContain("An HS256 JWT");
    expect(await verifyToken(handMade(complete(), "HS384"), secret)).toBeNull();
  });
});
