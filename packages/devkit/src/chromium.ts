import { existsSync } from "node:fs";

/** Debian's Chromium, which `bin/ensure-test-deps.mjs` installs. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Flags for a headless Chromium in tests: no sandbox (root), no GPU, no background network or updates. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

/** Added for WebRTC: a fake camera and microphone, granted without a prompt. */
export const CHROMIUM_MEDIA_ARGS: readonly string[] = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];

/**
 * Throws a one-line fix when Chromium is not installed.
 * @example
 * requireChromium();
 * const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
 */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: run 'node packages/devkit/bin/ensure-test-deps.mjs' as root, or 'apt-get install chromium'`,
    );
  }
}
