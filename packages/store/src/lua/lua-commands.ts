import { readFileSync } from "node:fs";
import type { RedisClient } from "../redis-client.js";

/** Where the shared Lua includes live (`--@include "name"` in a script pulls in `includes/name.lua`). */
const INCLUDES = new URL("./includes/", import.meta.url);
const INCLUDE_LINE = /^--@include "([A-Za-z]+)"$/gm;

/**
 * A file per command of `C`. ioredis gives every script a `<name>Buffer` variant that answers
 * binary strings as Buffers: a command `C` types by that variant is registered under `<name>`.
 */
export type ScriptFiles<C> = { readonly [K in keyof C & string as K extends `${infer Name}Buffer` ? Name : K]: string };

/**
 * The one way the hub's Lua scripts become Redis commands. `files` maps each command of `C` to its
 * file in `dir`: the name ends in its KEYS count (`deadLetter-5`), or in `n` when the caller passes
 * the count first (`pendingWork-n`). A script may pull in shared code with `--@include "redisTime"`
 * (includes/redisTime.lua). Files are read once; the returned function registers the commands on a
 * client (once per client: ioredis loads each by EVALSHA, falling back to EVAL) and returns the
 * client typed with them.
 *
 * @example
 * const withQueueCommands = luaCommands<QueueCommands>(new URL("./lua/", import.meta.url), { hubCommitQueue: "commitQueue-5" });
 * await withQueueCommands(redis).hubCommitQueue(...);
 */
export function luaCommands<C>(dir: URL, files: ScriptFiles<C>): (redis: RedisClient) => RedisClient & C {
  let scripts: Array<{ command: string; lua: string; numberOfKeys: number | undefined }> | undefined;
  return (redis) => {
    scripts ??= Object.entries<string>(files).map(([command, file]) => {
      const keys = file.split("-").at(-1);
      return { command, lua: loadLua(new URL(`${file}.lua`, dir)), numberOfKeys: keys === "n" ? undefined : Number(keys) };
    });
    const client = redis as unknown as Record<string, unknown>;
    for (const { command, lua, numberOfKeys } of scripts) {
      if (typeof client[command] === "function") continue;
      redis.defineCommand(command, numberOfKeys === undefined ? { lua } : { numberOfKeys, lua });
    }
    return redis as RedisClient & C;
  };
}

/** A script's text with its includes pulled in (each at most once; an include may include others). */
export function loadLua(file: URL): string {
  const included = new Set<string>();
  const expand = (text: string): string =>
    text.replace(INCLUDE_LINE, (_line, name: string) => {
      if (included.has(name)) return "";
      included.add(name);
      return expand(readFileSync(new URL(`${name}.lua`, INCLUDES), "utf8").trimEnd());
    });
  return expand(readFileSync(file, "utf8"));
}
