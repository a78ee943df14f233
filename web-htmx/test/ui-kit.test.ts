import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { compile } from "tailwindcss";
import { compileCss } from "../src/assets";

/**
 * The borders of the shared UI kit (shared/src/ui): the services' fragments are built from it, so no
 * file under services/ names a CSS class or a page of the web app, and the web app's CSS build reads
 * only its own sources and the kit's.
 */
const ROOT = join(import.meta.dir, "../..");
const KIT = join(ROOT, "shared/src/ui");
const STYLES = join(ROOT, "web-htmx/src/styles.css");

type Source = { path: string; text: string };
const sources = (dir: string, pattern = /\.tsx?$/): Source[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((file) => pattern.test(file) && !file.includes("node_modules"))
    .map((file) => ({ path: `${dir}/${file}`, text: readFileSync(join(ROOT, dir, file), "utf8") }));

/** Tailwind itself, with the default theme: does a class name make a utility? */
async function utilityTest() {
  const tailwind = dirname(Bun.resolveSync("tailwindcss/package.json", import.meta.dir));
  const compiler = await compile('@import "tailwindcss";', {
    base: tailwind,
    loadStylesheet: async (id: string, base: string) => {
      const path = id === "tailwindcss" ? join(tailwind, "index.css") : resolve(base, id);
      return { path, base: dirname(path), content: await Bun.file(path).text() };
    },
  });
  // build() adds to what it has built: a candidate is a utility when the stylesheet grows
  let size = compiler.build([]).length;
  const known = new Map<string, boolean>();
  return (name: string) => {
    if (!known.has(name)) {
      const next = compiler.build([name]).length;
      known.set(name, next > size);
      size = next;
    }
    return known.get(name) as boolean;
  };
}

/** The class names the kit's stylesheet defines (card, notice, …). */
const kitClasses = () => {
  const css = readFileSync(join(KIT, "kit.css"), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  return new Set([...css.matchAll(/\.([a-z][\w-]*)/g)].map((m) => m[1] as string));
};

const LITERAL = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g;
/** The text of each string literal (template literals split at their `${…}`). */
const literals = (text: string) => [...text.matchAll(LITERAL)].flatMap((m) => m[0].slice(1, -1).split(/\$\{[^}]*\}/));

const CLASS_ATTRIBUTE = /\b(class|className)\s*=|\bclass\s*:/;
/** Attributes whose value is an address: a fragment's link to a page of the web app. */
const URL_ATTRIBUTE = /\b(href|action|formaction|src|hx-(get|post|put|patch|delete|push-url))\s*=/;
/** An address attribute written out in a test's expected HTML, e.g. `href="/courses/3"`. */
const URL_ATTRIBUTE_LITERAL = /\b(href|action|formaction|src|hx-(get|post|put|patch|delete))=\\?["']\//;

type Finding = { path: string; line: number; what: string };

/**
 * What breaks the kit's borders in these files: a class attribute, a string of Tailwind classes
 * (every word a utility or a kit class, one at least with a `-` or `:`: a lone "table" or "hidden"
 * is also English), an address attribute in a service's source, an address written out in a test,
 * and in a view (.tsx) any literal path.
 */
function findings(files: Source[], isUtility: (name: string) => boolean): Finding[] {
  const kit = kitClasses();
  const isClass = (word: string) => kit.has(word) || isUtility(word);
  const found: Finding[] = [];
  for (const { path, text } of files) {
    const inSource = path.includes("/src/");
    text.split("\n").forEach((line, index) => {
      const at = (what: string) => found.push({ path, line: index + 1, what });
      if (CLASS_ATTRIBUTE.test(line)) at("a class attribute");
      if (inSource && URL_ATTRIBUTE.test(line)) at("an address attribute");
      if (URL_ATTRIBUTE_LITERAL.test(line)) at("an address written out");
      for (const literal of literals(line)) {
        const words = literal.trim().split(/\s+/).filter(Boolean);
        if (words.length > 0 && words.some((w) => /[-:]/.test(w)) && words.every(isClass)) {
          at(`Tailwind classes "${literal}"`);
        }
        if (path.endsWith(".tsx") && literal.startsWith("/")) at(`a path "${literal}"`);
      }
    });
  }
  return found;
}

describe("the services stay outside the web app", () => {
  test("no file under services/ names a CSS class or a page of the web app", async () => {
    const isUtility = await utilityTest();
    expect(findings(sources("services"), isUtility)).toEqual([]);
  });

  test("the check finds each kind of trespass", async () => {
    const isUtility = await utilityTest();
    const view = (text: string) => findings([{ path: "services/x/src/x/views.tsx", text }], isUtility);
    expect(view('<p class="card">x</p>').map((f) => f.what)).toContain("a class attribute");
    expect(view('const STYLE = "rounded-full px-2 text-xs";').map((f) => f.what)).toEqual([
      'Tailwind classes "rounded-full px-2 text-xs"',
    ]);
    expect(view("<a href={link}>x</a>").map((f) => f.what)).toEqual(["an address attribute"]);
    expect(view('const link = (id: number) => "/courses/" + id;').map((f) => f.what)).toEqual(['a path "/courses/"']);
    const inTest = findings(
      [{ path: "services/x/test/x.test.ts", text: `toContain('href="/my-courses"')` }],
      isUtility,
    );
    expect(inTest.map((f) => f.what)).toEqual(["an address written out"]);
    // words that are utilities on their own, and the error level, are not class strings
    expect(view('log("error", "the table is hidden");')).toEqual([]);
  });
});

describe("the web app's CSS", () => {
  test("is built from web-htmx/src and the kit only", () => {
    const css = readFileSync(STYLES, "utf8");
    expect(css).toContain('@import "tailwindcss" source(none);');
    const scanned = [...css.matchAll(/@source\s+"([^"]+)"/g)].map((m) =>
      relative(ROOT, resolve(dirname(STYLES), m[1]!)),
    );
    expect(scanned.sort()).toEqual(["shared/src/ui", "web-htmx/src"]);
  });

  test("holds every class the kit renders", async () => {
    const isUtility = await utilityTest();
    const kit = kitClasses();
    const rendered = new Set(
      sources("shared/src/ui").flatMap(({ text }) =>
        literals(text)
          .map((literal) => literal.trim().split(/\s+/))
          .filter((words) => words.some((w) => /[-:]/.test(w)) && words.every((w) => kit.has(w) || isUtility(w)))
          .flat(),
      ),
    );
    for (const name of kit) rendered.add(name);
    const css = await compileCss();
    const escaped = (name: string) => name.replace(/[:.]/g, (c) => `\\${c}`);
    expect([...rendered].filter((name) => !css.includes(`.${escaped(name)}`))).toEqual([]);
    expect(rendered.has("line-clamp-2")).toBe(true);
  }, 30_000);
});
