import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";
import { until } from "./until.js";

interface EchoServer {
  port: number;
  /** Connections the echo server accepted so far. */
  accepted(): number;
  /** Connections open on the echo server now. */
  open(): number;
  close(): Promise<void>;
}

const owned: Array<{ close(): Promise<void> }> = [];
const clients = new Set<Socket>();

afterEach(async () => {
  for (const socket of clients) socket.destroy();
  clients.clear();
  await Promise.all(owned.splice(0).map((o) => o.close()));
});

async function echoServer(): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    socket.pipe(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const echo = {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  owned.push(echo);
  return echo;
}

async function proxyTo(port: number): Promise<TcpProxy> {
  const proxy = await startTcpProxy({ target: { port } });
  owned.push(proxy);
  return proxy;
}

/** A connected client that records everything it receives. */
async function dial(port: number): Promise<{ socket: Socket; received(): string; closed: Promise<void> }> {
  const socket = createConnection({ host: "127.0.0.1", port });
  clients.add(socket);
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  socket.on("error", () => undefined);
  const closed = once(socket, "close").then(() => undefined);
  await once(socket, "connect");
  return { socket, received: () => text, closed };
}

describe("startTcpProxy", () => {
  it("passes bytes both ways, intact and in order, a large stream included", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    expect(proxy.mode).toEqual({ kind: "pass" });
    const client = await dial(proxy.port);
    const chunks = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(4, "0")}:${"x".repeat(20_000)}|`);
    for (const chunk of chunks) client.socket.write(chunk);
    const expected = chunks.join("");
    await until("the whole echo", () => client.received().length >= expected.length);
    expect(client.received()).toBe(expected);
    expect(proxy.connections).toBe(1);
  });

  it("delay(ms) holds every chunk that long each way, keeping order; pass() lets held ones out at once", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const client = await dial(proxy.port);
    proxy.delay(150);
    expect(proxy.mode).toEqual({ kind: "delay", ms: 150 });
    const sentAt = Date.now();
    for (const part of ["a", "b", "c", "d"]) client.socket.write(part);
    await until("the delayed echo", () => client.received() === "abcd", 5_000);
    // Held 150 ms on the way there and 150 ms on the way back.
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(290);

    proxy.delay(10_000);
    client.socket.write("e");
    await until("the proxy to hold the chunk", () => proxy.held === 1);
    proxy.pass();
    await until("the held chunk, released by pass()", () => client.received() === "abcde", 2_000);
  });

  it("blackhole() keeps open connections silent and holds new ones off the target; pass() delivers what was held, in order", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const open = await dial(proxy.port);
    open.socket.write("before|");
    await until("the first echo", () => open.received() === "before|");

    proxy.blackhole();
    open.socket.write("during-1|");
    open.socket.write("during-2|");
    // A new connection is accepted (its connect event fired in dial) but never reaches the target.
    const late = await dial(proxy.port);
    late.socket.write("late|");
    await until("both connections and their bytes to be held", () => proxy.connections === 2 && proxy.held === 23);
    // Silence cannot be awaited as an event: give the bytes time they would need to come back.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(open.received()).toBe("before|");
    expect(late.received()).toBe("");
    expect(echo.accepted()).toBe(1);

    proxy.pass();
    await until("the held bytes to flow", () => open.received() === "before|during-1|during-2|" && late.received() === "late|");
    expect(echo.accepted()).toBe(2);
  });

  it("forwards a half-close and the target's end, and resets the client when the target refuses", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const client = await dial(proxy.port);
    client.socket.end("last words");
    await client.closed;
    expect(client.received()).toBe("last words");

    await echo.close();
    const refused = await dial(proxy.port);
    await refused.closed;
    await until("the link to be forgotten", () => proxy.connections === 0);
  });

  it("close() ends every connection on both sides and stops listening", async () => {
    const echo = await echoServer();
    const proxy = await startTcpProxy({ target: { port: echo.port } });
    const a = await dial(proxy.port);
    const b = await dial(proxy.port);
    a.socket.write("x");
    await until("a to be through", () => a.received() === "x");
    proxy.blackhole();
    await proxy.close();
    await Promise.all([a.closed, b.closed]);
    expect(proxy.connections).toBe(0);
    await until("the target's side to be closed too", () => echo.open() === 0);
    const refused = createConnection({ host: "127.0.0.1", port: proxy.port });
    const [error] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    expect(error.code).toBe("ECONNREFUSED");
    expect(() => proxy.pass()).toThrow(/closed/);
  });
});
