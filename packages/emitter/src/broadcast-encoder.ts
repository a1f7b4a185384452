import { Emitter } from "@socket.io/redis-emitter";
import type { Outgoing } from "./event-sink.js";
import type { HubKeys } from "./keys.js";

/**
 * Encodes deliveries into the channel + message pairs `@socket.io/redis-adapter` listens for, using
 * `@socket.io/redis-emitter` for the wire format. Publishing is left to the caller, so it can be done
 * atomically with the dedupe claim (lua/publish-1.lua).
 */
export function createBroadcastEncoder(keys: HubKeys): (outgoing: readonly Outgoing[]) => Array<string | Buffer> {
  const captured: Array<string | Buffer> = [];
  // The emitter publishes synchronously inside emit(); this client only records what it would send.
  const recorder = { publish: (channel: string, message: string | Buffer) => void captured.push(channel, message) };
  const emitter = new Emitter(recorder, { key: keys.socketIo });
  return (outgoing) => {
    for (const { topic, clientEvent, envelope } of outgoing) emitter.to(topic).emit(clientEvent, envelope);
    return captured.splice(0);
  };
}
