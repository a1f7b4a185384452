import type { Engine } from "./engine.js";

/** Single node: Socket.IO's in-memory adapter, nothing shared with other processes. */
export function createMemoryEngine(): Engine {
  return {
    kind: "memory",
    attach() {},
    async ready() {},
    redisState: () => "disabled",
    async close() {},
  };
}
