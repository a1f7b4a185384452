import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type GatewayProcess, REPO_ROOT, startGateway, userToken } from "@hub/devkit";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { connectHub, type Hub } from "../src/index.js";

// docs/getting-started.md, "A call between two users": its `ts call-callee` and `ts call-caller`
// blocks run as written, in that order (Bob's app listens before Alice calls), against a gateway on
// the memory engine, with stand-ins for the two RTCPeerConnections (which Node does not have).

const DOC = readFileSync(join(REPO_ROOT, "docs", "getting-started.md"), "utf8");

/** The body of the page's one fenced block whose info string is exactly `info`. */
function block(info: string): string {
  const found = [...DOC.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].filter((m) => m[1]?.trim() === info);
  expect(found, `blocks "${info}" in docs/getting-started.md`).toHaveLength(1);
  return found[0]?.[2] as string;
}

/** Runs a TypeScript block with `scope` as its free variables; resolves with `result`'s value at its end. */
async function run(info: string, scope: Record<string, unknown>, result = "undefined"): Promise<unknown> {
  const source = `async function block() {\n${block(info)}\nreturn ${result};\n}`;
  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022 } }).outputText;
  const names = Object.keys(scope);
  return new Function(...names, `${js}\nreturn block();`)(...names.map((name) => scope[name]));
}

interface Description {
  type: string;
  sdp: string;
}

/** Stands in for an RTCPeerConnection: descriptions only, which is all the signalling touches. */
class FakePeer {
  localDescription: (Description & { toJSON(): Description }) | null = null;
  /** The remote description, once set. */
  readonly remote: Promise<Description>;
  #setRemote: (description: Description) => void = () => {};

  constructor(readonly name: string) {
    this.remote = new Promise((resolve) => {
      this.#setRemote = resolve;
    });
  }

  async createOffer(): Promise<Description> {
    return { type: "offer", sdp: `v=0 offer of ${this.name}` };
  }

  async createAnswer(): Promise<Description> {
    return { type: "answer", sdp: `v=0 answer of ${this.name}` };
  }

  async setLocalDescription(description: Description): Promise<void> {
    this.localDescription = { ...description, toJSON: () => ({ ...description }) };
  }

  async setRemoteDescription(description: Description): Promise<void> {
    this.#setRemote(description);
  }
}

let gateway: GatewayProcess | undefined;
const hubs: Hub[] = [];

afterAll(async () => {
  for (const hub of hubs) hub.close();
  await gateway?.stop();
});

async function connect(user: string): Promise<Hub> {
  const hub = connectHub({
    url: (gateway as GatewayProcess).url,
    token: await userToken({ sub: user, org_id: "dev-org" }),
    socketOptions: { transports: ["websocket"] },
  });
  hubs.push(hub);
  await hub.ready();
  return hub;
}

/** Resolves once the user's own `webrtc:` topic, which `hub.calls.on` subscribed, is confirmed. */
function callsReady(hub: Hub, user: string): Promise<void> {
  return new Promise((resolve) => {
    const off = hub.subscribe(`webrtc:${user}`, { onEvent: () => {}, onSubscribed: () => resolve(off()) });
  });
}

describe("docs/getting-started.md: a call between two users", () => {
  it("the page's callee and caller blocks exchange an offer and an answer through the hub", async () => {
    gateway = await startGateway({ HUB_NODE_ID: "getting-started-call" });
    const [alice, bob] = await Promise.all([connect("alice"), connect("bob")]);
    const alicePeer = new FakePeer("alice");
    const bobPeer = new FakePeer("bob");
    const logged: string[] = [];

    await run("ts call-callee", { bob, bobPeer, console: { log: (line: string) => logged.push(line) } });
    await callsReady(bob, "bob");
    const callId = await run("ts call-caller", { alice, alicePeer }, "callId");

    expect(callId).toEqual(expect.any(String));
    expect(await bobPeer.remote).toEqual({ type: "offer", sdp: "v=0 offer of alice" });
    expect(await alicePeer.remote).toEqual({ type: "answer", sdp: "v=0 answer of bob" });
    expect(logged).toEqual(["alice is calling"]);

    // Alice hangs up. Bob hears it after the hub answered his signal.answer (one connection, in
    // order), so nothing the blocks sent is still in flight when the hubs close.
    const ended = new Promise((resolve) => bob.calls.on("ended", resolve));
    await alice.calls.end(callId as string);
    expect(await ended).toMatchObject({ call_id: callId, reason: "hangup" });
  });
});
