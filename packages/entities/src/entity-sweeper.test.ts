import { until } from "@hub/devkit";
import type { Logger } from "pino";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createEntityRuntime } from "./entity-runtime.js";
import { startEntitySweeper } from "./entity-sweeper.js";
import { callMachine } from "./machines/calls/machine.js";
import { memoryEntityStore } from "./memory-entity-store.js";

describe("entity sweeper", () => {
  it("tells once that its passes fail while the store is away, and once that they work again", async () => {
    const inner = memoryEntityStore();
    let down = true;
    let passes = 0;
    const store = {
      ...inner,
      async due(kind: string, now: number, limit: number) {
        passes++;
        if (down) throw new Error("connection is closed");
        return inner.due(kind, now, limit);
      },
    };
    const told: string[] = [];
    const logger = { warn: (_: unknown, message: string) => told.push(message), info: (message: string) => told.push(message) };
    const runtime = createEntityRuntime({ store, deliver: async () => {}, logger: pino({ level: "silent" }) });
    const sweeper = startEntitySweeper({
      runtime,
      store,
      machines: [callMachine({ ringTimeoutMs: 1_000 })],
      logger: logger as unknown as Logger,
      sweepMs: 1,
    });
    await until("ten failed passes", async () => passes >= 10);
    expect(told).toEqual(["entity sweep failed; retried every tick until it works"]);
    down = false;
    const failed = passes;
    await until("a pass to work", async () => passes > failed + 1);
    await sweeper.close();
    expect(told).toEqual(["entity sweep failed; retried every tick until it works", "entity sweep works again"]);
  });
});
