import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createContext, runInContext } from "node:vm";
import { beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

/** Runs a Node script in the package directory and parses the JSON it prints. */
async function node(args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, args, { cwd: PACKAGE_DIR, timeout: 30_000 });
  return JSON.parse(stdout);
}

// Loads the build, then connects to a closed port without reconnection: that exercises
// socket.io-client as bundled and the SDK's error mapping, with no hub needed.
const probe = `
  const hub = sdk.connectHub({ url: "http://127.0.0.1:1", token: "t", socketOptions: { reconnection: false } });
  const error = await hub.ready().catch((e) => e);
  hub.close();
  console.log(JSON.stringify({
    exports: Object.keys(sdk).sort(),
    isHubError: error instanceof sdk.HubError,
    code: error.code,
  }));
`;
const expected = { exports: ["HubError", "connectHub"], isHubError: true, code: "unavailable" };

describe("builds", () => {
  beforeAll(async () => {
    // esbuild only (well under a second); type declarations are tsc's, checked by the typecheck.
    await run(process.execPath, ["scripts/build.mjs"], { cwd: PACKAGE_DIR, timeout: 60_000 });
  });

  it("the CommonJS build loads with require()", async () => {
    expect(await node(["-e", `const sdk = require("./dist/cjs/index.js"); (async () => { ${probe} })();`])).toEqual(expected);
  });

  it("the ESM build loads with import()", async () => {
    expect(await node(["--input-type=module", "-e", `const sdk = await import("./dist/esm/index.js"); ${probe}`])).toEqual(expected);
  });

  it("the browser bundle defines the HubClient global with socket.io-client inside", async () => {
    const code = await readFile(`${PACKAGE_DIR}dist/hub-client.browser.js`, "utf8");
    expect(code).not.toMatch(/require\(["']socket\.io-client["']\)/);
    const window: { HubClient?: { connectHub?: unknown; HubError?: unknown } } = {};
    runInContext(code, createContext(window));
    expect(typeof window.HubClient?.connectHub).toBe("function");
    expect(typeof window.HubClient?.HubError).toBe("function");
  });
});
