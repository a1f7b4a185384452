import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { loadLua } from "./lua-commands.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const INCLUDES = readdirSync(new URL("./includes/", import.meta.url)).map((file) => file.replace(/\.lua$/, ""));

/** Every Lua script of the repository (apps and packages), includes excepted. */
function scripts(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ["node_modules", "dist", "includes", ".git"].includes(entry.name) ? [] : scripts(path);
    return entry.name.endsWith(".lua") ? [path] : [];
  });
}

describe("loadLua", () => {
  it("finds the repository's scripts", () => {
    expect(scripts().length).toBeGreaterThanOrEqual(20);
  });

  it.each(scripts().map((path) => [path.slice(ROOT.length), path]))(
    "%s: every include resolved, once, and declared before use",
    (_name, path) => {
      const lua = loadLua(pathToFileURL(path));
      expect(lua).not.toMatch(/--@include/);
      for (const name of INCLUDES) {
        const definition = `local function ${name}(`;
        const definitions = lua.split(definition).length - 1;
        // Calls: every `name(` that is not the definition itself.
        const firstCall = lua.replace(definition, " ".repeat(definition.length)).indexOf(`${name}(`);
        // A script that calls a shared function includes it once, above the first call; one that
        // does not call it does not include it.
        expect(definitions, name).toBe(firstCall >= 0 ? 1 : 0);
        if (firstCall >= 0) expect(lua.indexOf(definition), `${name} defined before its first call`).toBeLessThan(firstCall);
      }
    },
  );

  it("pulls an include in once however often it is named", () => {
    const raw = readFileSync(new URL("./acknowledge-2.lua", import.meta.url), "utf8");
    expect(raw).toContain('--@include "cursorOffset"');
    const lua = loadLua(new URL("./acknowledge-2.lua", import.meta.url));
    expect(lua.split("local function cursorOffset(").length - 1).toBe(1);
  });
});
