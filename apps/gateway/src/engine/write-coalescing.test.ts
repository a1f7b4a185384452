import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket as ServerSocket } from "socket.io";
import { Adapter } from "socket.io-adapter";
import { io as connect, type Socket } from "socket.io-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AdapterConstructor, coalescingAdapter } from "./write-coalescing.js";

/** What one client saw, in order: `ev:m1`, or `batch:m1,m2` for a batch frame. */
interface Seen {
  client: Socket;
  items: string[];
  /** Resolves once `count` items arrived. */
  until(count: number): Promise<void>;
}

let http: HttpServer;
let io: Server;
let url: string;
const serverSockets = new Map<string, ServerSocket>();
const clients: Socket[] = [];
/** Sockets the adapter reported as queued behind earlier writes (`onBacklog`). */
const backlogged: unknown[] = [];

beforeEach(async () => {
  http = createServer();
  io = new Server(http, {
    adapter: coalescingAdapter(Adapter as unknown as AdapterConstructor, {
      delayMs: 20,
      onBacklog: (socket) => backlogged.push(socket),
    }) as never,
  });
  io.on("connection", (socket) => {
    if (socket.handshake.auth.coalesce === true) socket.data.coalesce = true;
    serverSockets.set(socket.handshake.auth.name as string, socket);
    void socket.join("R");
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  serverSockets.clear();
  backlogged.length = 0;
  await new Promise<void>((resolve) => io.close(() => resolve()));
});

async function client(name: string, coalesce: boolean): Promise<Seen> {
  const socket = connect(url, { transports: ["websocket"], auth: { name, coalesce }, forceNew: true });
  clients.push(socket);
  const items: string[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  socket.onAny((event: string, arg: unknown) => {
    items.push(event === "batch" ? `batch:${(arg as Array<[string, string]>).map(([, m]) => m).join(",")}` : `${event}:${String(arg)}`);
    for (const waiter of waiters.filter((w) => items.length >= w.count)) waiter.resolve();
  });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  await until(() => serverSockets.get(name)?.rooms.has("R") === true);
  return {
    client: socket,
    items,
    until: (count) => (items.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
  };
}

/** Polls a condition the server side reaches without telling the client (a join). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

describe("coalesceWrites", () => {
  it("holds a room's broadcasts and writes them as one batch frame to a client that negotiated it, one by one to another", async () => {
    const single = await client("single", false);
    const batched = await client("batched", true);
    for (const m of ["m1", "m2", "m3"]) io.to("R").emit("ev", m);
    await Promise.all([single.until(3), batched.until(1)]);
    expect(single.items).toEqual(["ev:m1", "ev:m2", "ev:m3"]);
    expect(batched.items).toEqual(["batch:m1,m2,m3"]);
  });

  it("a broadcast it does not hold (with except) goes out behind what its room holds: order per room is kept", async () => {
    const single = await client("single", false);
    const batched = await client("batched", true);
    io.to("R").emit("ev", "m1");
    io.to("R").except("nobody").emit("ev", "m2");
    io.to("R").emit("ev", "m3");
    await Promise.all([single.until(3), batched.until(3)]);
    expect(single.items).toEqual(["ev:m1", "ev:m2", "ev:m3"]);
    expect(batched.items).toEqual(["ev:m1", "ev:m2", "ev:m3"]);
  });

  it("a connection in two rooms gets their broadcasts in arrival order; a run of one room's is one batch frame", async () => {
    const both = await client("both", true);
    const onlyR = await client("onlyR", true);
    await (serverSockets.get("both") as ServerSocket).join("S");
    for (const [room, m] of [
      ["R", "r1"],
      ["R", "r2"],
      ["S", "s1"],
      ["R", "r3"],
    ] as const)
      io.to(room).emit("ev", m);
    await Promise.all([both.until(3), onlyR.until(2)]);
    expect(both.items).toEqual(["batch:r1,r2", "ev:s1", "ev:r3"]);
    expect(onlyR.items).toEqual(["batch:r1,r2", "ev:r3"]);
  });

  it("a connection taken off the room as lagging gets none of what the room held when it leaves; the others do", async () => {
    const lagging = await client("lagging", true);
    const healthy = await client("healthy", true);
    const socket = serverSockets.get("lagging") as ServerSocket;
    io.to("R").emit("ev", "q1");
    // What the outbound guard does: mark it, then take it off its topics.
    socket.data.lagging = ["R"];
    await socket.leave("R");
    socket.emit("marker", "after");
    await Promise.all([lagging.until(1), healthy.until(1)]);
    expect(lagging.items).toEqual(["marker:after"]);
    expect(healthy.items).toEqual(["ev:q1"]);
  });

  it("a socket that joins while its room holds broadcasts gets only later ones; one that leaves still gets what came before", async () => {
    const staying = await client("staying", false);
    const leaving = await client("leaving", false);
    const joining = await client("joining", false);
    await (serverSockets.get("joining") as ServerSocket).leave("R");
    io.to("R").emit("ev", "before");
    await (serverSockets.get("leaving") as ServerSocket).leave("R");
    await (serverSockets.get("joining") as ServerSocket).join("R");
    io.to("R").emit("ev", "after");
    (serverSockets.get("leaving") as ServerSocket).emit("marker", "end");
    await Promise.all([staying.until(2), leaving.until(2), joining.until(1)]);
    expect(staying.items).toEqual(["ev:before", "ev:after"]);
    expect(leaving.items).toEqual(["ev:before", "marker:end"]);
    expect(joining.items).toEqual(["ev:after"]);
  });

  it("acknowledged broadcasts and fetchSockets right after a held broadcast work as without it", async () => {
    const one = await client("one", true);
    one.client.on("ask", (_arg: unknown, ack: (answer: string) => void) => ack("yes"));
    io.to("R").emit("ev", "held");
    expect((await io.in("R").fetchSockets()).map((s) => s.handshake.auth.name)).toEqual(["one"]);
    const answers = await io.to("R").timeout(5_000).emitWithAck("ask", "q");
    expect(answers).toEqual(["yes"]);
    expect(one.items[0]).toBe("ev:held");
  });

  it("reports a socket whose delivery queued behind its earlier writes (held or not), and not one written straight", async () => {
    const stuck = await client("stuck", true);
    const free = await client("free", false);
    const conn = (serverSockets.get("stuck") as ServerSocket).conn as unknown as { transport: { writable: boolean }; flush(): void };
    // A write still in flight: engine.io queues what comes next.
    conn.transport.writable = false;
    io.to("R").emit("ev", "held");
    await free.until(1);
    io.to("R").except("nobody").emit("ev", "not held");
    await free.until(2);
    expect(backlogged).toEqual([serverSockets.get("stuck"), serverSockets.get("stuck")]);
    conn.transport.writable = true;
    conn.flush();
    await stuck.until(2);
    expect(stuck.items).toEqual(["ev:held", "ev:not held"]);
    io.to("R").emit("ev", "straight");
    await Promise.all([stuck.until(3), free.until(3)]);
    expect(backlogged).toHaveLength(2);
  });
});
