import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium unless CHROMIUM_PATH names another. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export class ChromiumMissingError extends Error {}

/** Headless Chromium as the browser tests and `bun run screenshot` drive it: no sandbox (root in CI), nothing fetched in the background. */
export async function launchChromium(): Promise<Browser> {
  if (!(await Bun.file(CHROMIUM).exists())) {
    throw new ChromiumMissingError(
      `no Chromium at ${CHROMIUM}: apt-get install chromium (Debian/Ubuntu), or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
