import { dirname, join } from "node:path";
import { Elysia } from "elysia";

/** A static file served under a content-derived path, so it can be cached for a year. */
export type Asset = { path: string; body: string; contentType: string };
export type Assets = { css: Asset; htmx: Asset };

const IMMUTABLE = "public, max-age=31536000, immutable";
const fingerprint = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 12);

/** Tailwind CSS 4 compiled from src/styles.css (scanning the web app and the shared UI kit) into one file. */
export async function compileCss(): Promise<string> {
  const cli = join(dirname(Bun.resolveSync("@tailwindcss/cli/package.json", import.meta.dir)), "dist/index.mjs");
  const build = Bun.spawn([process.execPath, cli, "-i", join(import.meta.dir, "styles.css"), "--minify"], {
    cwd: join(import.meta.dir, ".."),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [css, errors, code] = await Promise.all([
    new Response(build.stdout).text(),
    new Response(build.stderr).text(),
    build.exited,
  ]);
  if (code !== 0 || !css) throw new Error(`Tailwind CSS build failed (exit ${code}): ${errors.trim()}`);
  return css;
}

/** htmx 4.0.1 from the npm package (pinned in package.json), served from here: no CDN. */
async function htmxScript(): Promise<Asset> {
  const file = Bun.resolveSync("htmx.org/dist/htmx.min.js", import.meta.dir);
  const { version } = await Bun.file(join(dirname(file), "../package.json")).json();
  return {
    path: `/assets/htmx-${version}.min.js`,
    body: await Bun.file(file).text(),
    contentType: "text/javascript; charset=utf-8",
  };
}

export async function buildAssets(): Promise<Assets> {
  const [css, htmx] = await Promise.all([compileCss(), htmxScript()]);
  return {
    css: { path: `/assets/app.${fingerprint(css)}.css`, body: css, contentType: "text/css; charset=utf-8" },
    htmx,
  };
}

export const assetsController = (assets: Assets) =>
  new Elysia({ name: "web.assets" }).get(
    "/assets/:file",
    ({ params, set }) => {
      const asset = Object.values(assets).find((a) => a.path === `/assets/${params.file}`);
      if (!asset) {
        set.status = 404;
        return "Not found";
      }
      return new Response(asset.body, { headers: { "content-type": asset.contentType, "cache-control": IMMUTABLE } });
    },
    { detail: { hide: true } },
  );
