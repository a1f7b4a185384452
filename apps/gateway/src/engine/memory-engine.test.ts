import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Envelope } from "@hub/events";
import type { EventSink, Outgoing } from "@hub/store";
import { Server } from "socket.io";
import { io as connect, type Socket } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryEngine } from "./memory-engine.js";

/** A payload nested `depth` levels deep, built without recursion: encoding it overflows the stack. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) value = { child: value };
  return value;
}

function outgoing(id: string, data: unknown, topic = "org:o1"): Outgoing[] {
  const envelope: Envelope = { id, type: "roster.player_hired", topic, org_id: "o1", data, ts: Date.now() };
  return [{ topic, clientEvent: "roster.player_hired", envelope }];
}

describe("memory engine event sink", () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  /** A socket.io server on the memory engine's sink, and one client in the `org:o1` room. */
  async function serve(): Promise<{ sink: EventSink; client: Socket }> {
    const http = createServer();
    const io = new Server(http);
    io.on("connection", (socket) => {
      void socket.join("org:o1");
      socket.emit("joined");
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as AddressInfo;
    const client = connect(`http://127.0.0.1:${port}`, { transports: ["websocket"] });
    cleanups.push(() => {
      client.disconnect();
      void io.close();
    });
    await new Promise<void>((resolve) => client.once("joined", () => resolve()));
    return { sink: createMemoryEngine().broker.eventSink(io), client };
  }

  it("does not spend the id of an event whose emit failed: a corrected retry with the same id is delivered", async () => {
    const { sink, client } = await serve();
    const seen: Envelope[] = [];
    client.on("roster.player_hired", (envelope: Envelope) => seen.push(envelope));

    // socket.io's encoder (hasBinary, JSON.stringify) recurses: this payload overflows the stack.
    await expect(sink.deliver({ orgId: "o1", id: "retry-1" }, outgoing("retry-1", nested(200_000)))).rejects.toThrow(RangeError);

    const arrived = new Promise<Envelope>((resolve) => client.once("roster.player_hired", resolve));
    expect(await sink.deliver({ orgId: "o1", id: "retry-1" }, outgoing("retry-1", { fixed: true }))).toBe(true);
    expect(await arrived).toMatchObject({ id: "retry-1", data: { fixed: true } });

    // Once delivered, the id is spent as before: a third copy is a duplicate.
    expect(await sink.deliver({ orgId: "o1", id: "retry-1" }, outgoing("retry-1", { again: true }))).toBe(false);
    const sentinel = new Promise<Envelope>((resolve) => client.once("roster.player_hired", resolve));
    expect(await sink.deliver({ orgId: "o1", id: "sentinel" }, outgoing("sentinel", {}))).toBe(true);
    await sentinel;
    expect(seen.map((e) => [e.id, e.data])).toEqual([
      ["retry-1", { fixed: true }],
      ["sentinel", {}],
    ]);
  });

  it("releases the id whatever makes the emit throw", async () => {
    let failing = true;
    const emitted: unknown[] = [];
    const io = {
      to: () => ({
        emit: (_event: string, envelope: unknown) => {
          if (failing) throw new Error("encoder failed");
          emitted.push(envelope);
          return true;
        },
      }),
    };
    const sink = createMemoryEngine().broker.eventSink(io as unknown as Server);
    await expect(sink.deliver({ orgId: "o1", id: "e-1" }, outgoing("e-1", { n: 1 }))).rejects.toThrow("encoder failed");
    failing = false;
    expect(await sink.deliver({ orgId: "o1", id: "e-1" }, outgoing("e-1", { n: 2 }))).toBe(true);
    expect(await sink.deliver({ orgId: "o1", id: "e-1" }, outgoing("e-1", { n: 3 }))).toBe(false);
    expect(emitted).toEqual([expect.objectContaining({ id: "e-1", data: { n: 2 } })]);
  });

  it("keeps the id spent once one of its topics got the event, so a retry cannot deliver it there twice", async () => {
    const emitted: string[] = [];
    const io = {
      to: (topic: string) => ({
        emit: () => {
          if (topic === "org:o2") throw new Error("encoder failed");
          emitted.push(topic);
          return true;
        },
      }),
    };
    const sink = createMemoryEngine().broker.eventSink(io as unknown as Server);
    const twoTopics = [...outgoing("e-2", {}, "org:o1"), ...outgoing("e-2", {}, "org:o2")];
    await expect(sink.deliver({ orgId: "o1", id: "e-2" }, twoTopics)).rejects.toThrow("encoder failed");
    expect(await sink.deliver({ orgId: "o1", id: "e-2" }, twoTopics)).toBe(false);
    expect(emitted).toEqual(["org:o1"]);
  });
});
