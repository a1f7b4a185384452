import type { Envelope, HistoryPolicy } from "@hub/events";
import { Emitter } from "@socket.io/redis-emitter";
import notepack from "notepack.io";
import type { Outgoing } from "./event-sink.js";
import type { HubKeys } from "./keys.js";

/** One broadcast in `@socket.io/redis-adapter` wire format, ready to PUBLISH. */
export interface EncodedBroadcast {
  topic: string;
  channel: string;
  message: Buffer;
  /** Set when the topic keeps history: where the offset placeholder starts (0-based byte index). */
  offsetAt?: number;
  history?: HistoryPolicy;
}

// Fixed-width stand-ins the publish script overwrites: a float64 offset and a 16-character epoch.
const OFFSET_PLACEHOLDER = 0.5;
export const EPOCH_LENGTH = 16;
const EPOCH_PLACEHOLDER = "~".repeat(EPOCH_LENGTH);
// msgpack of `offset: 0.5, epoch: "~~~…"` as the last two fields of the envelope.
const PLACEHOLDERS = Buffer.concat([
  Buffer.from([0xa6]),
  Buffer.from("offset"),
  Buffer.from([0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0xa5]),
  Buffer.from("epoch"),
  Buffer.from([0xa0 | EPOCH_LENGTH]),
  Buffer.from(EPOCH_PLACEHOLDER),
]);
const OFFSET_WITHIN_PLACEHOLDERS = 8;

/**
 * Which adapter the broadcasts are for: `classic` is `createAdapter`'s format (PUBLISH), `sharded`
 * is `createShardedAdapter`'s (SPUBLISH on the room's channel). Both are msgpack.
 */
export type PubSubWire = "classic" | "sharded";

/**
 * Encodes deliveries into the channel + message pairs `@socket.io/redis-adapter` listens for:
 * `@socket.io/redis-emitter`'s wire format for the classic adapter, the sharded adapter's cluster
 * message (`{ uid, nsp, type: BROADCAST, data: { packet, opts } }`) for the sharded one, on the
 * room's channel either way. Publishing is left to the caller, so it can be done atomically with
 * the dedupe claim and the history append (lua/publishBatch-n.lua, several at once).
 */
export function createBroadcastEncoder(keys: HubKeys, wire: PubSubWire = "classic"): (outgoing: readonly Outgoing[]) => EncodedBroadcast[] {
  const captured: Array<string | Buffer> = [];
  // The emitter publishes synchronously inside emit(); this client only records what it would send.
  const recorder = { publish: (channel: string, message: string | Buffer) => void captured.push(channel, message) };
  const emitter = new Emitter(recorder, { key: keys.socketIo });
  const encodeOne = (topic: string, clientEvent: string, envelope: Envelope): [string, Buffer] => {
    if (wire === "sharded") return [keys.topicChannel(topic), encodeShardedBroadcast(topic, clientEvent, envelope)];
    emitter.to(topic).emit(clientEvent, envelope);
    return captured.splice(0) as [string, Buffer];
  };
  return (outgoing) =>
    outgoing.map(({ topic, clientEvent, envelope, history }) => {
      const withPlaceholders: Envelope = history ? { ...envelope, offset: OFFSET_PLACEHOLDER, epoch: EPOCH_PLACEHOLDER } : envelope;
      const [channel, message] = encodeOne(topic, clientEvent, withPlaceholders);
      if (!history) return { topic, channel, message };
      // The envelope's last fields; only room names (no such bytes) follow them in the message.
      const at = message.lastIndexOf(PLACEHOLDERS);
      if (at < 0) throw new Error("offset placeholder not found in the encoded broadcast");
      return { topic, channel, message, offsetAt: at + OFFSET_WITHIN_PLACEHOLDERS, history };
    });
}

// socket.io-adapter's ClusterAdapter message type of a broadcast, and socket.io-parser's EVENT packet.
const BROADCAST_MESSAGE = 3;
const EVENT_PACKET = 2;
/** The sender id of broadcasts no Socket.IO server sent (the adapters' own `EMITTER_UID`). */
const EMITTER_UID = "emitter";

/** One broadcast as `createShardedAdapter` sends it, to the sockets of one room of the main namespace. */
function encodeShardedBroadcast(room: string, clientEvent: string, envelope: Envelope): Buffer {
  return notepack.encode({
    uid: EMITTER_UID,
    nsp: "/",
    type: BROADCAST_MESSAGE,
    data: { packet: { type: EVENT_PACKET, data: [clientEvent, envelope], nsp: "/" }, opts: { rooms: [room], except: [], flags: {} } },
  });
}

/** A broadcast read back from its wire format (history entries, live messages a gateway taps). */
export interface DecodedBroadcast {
  clientEvent: string;
  envelope: Envelope;
}

/** Decodes a message `createBroadcastEncoder` produced; undefined when it is not an event broadcast. */
export function decodeBroadcast(message: Buffer): DecodedBroadcast | undefined {
  const decoded = notepack.decode(message) as unknown;
  // Classic: [uid, packet, opts]; sharded: { uid, nsp, type, data: { packet, opts } }.
  const packet = Array.isArray(decoded) ? decoded[1] : (decoded as { data?: { packet?: unknown } } | null | undefined)?.data?.packet;
  const data = (packet as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data) || typeof data[0] !== "string" || typeof data[1] !== "object" || data[1] === null) return undefined;
  return { clientEvent: data[0], envelope: data[1] as Envelope };
}

// msgpack of `[ "emitter", ...`: the array header and the uid `@socket.io/redis-emitter` sends under.
const EMITTER_HEAD = Buffer.concat([Buffer.from([0x93, 0xa7]), Buffer.from("emitter")]);
// msgpack of `{ uid: "emitter", ...`: how `encodeShardedBroadcast`'s messages start.
const SHARDED_HEAD = Buffer.concat([Buffer.from([0x84, 0xa3]), Buffer.from("uid"), Buffer.from([0xa7]), Buffer.from("emitter")]);
// msgpack of the key `ts` followed by the uint64 marker: an epoch-ms time is an integer above 2^32.
const TS_FIELD = Buffer.from([0xa2, 0x74, 0x73, 0xcf]);

/**
 * When the event of a broadcast `createBroadcastEncoder` produced was published (its envelope's
 * `ts`, epoch ms), read from the wire format without decoding the message: gateways call it on every
 * broadcast, so it costs one backward byte search. Undefined for any other message. The envelope's
 * `ts` is its last `ts` key (only `offset`, `epoch` and the broadcast options follow it; a payload
 * field named `ts` comes before it).
 */
export function broadcastPublishedAt(message: Buffer): number | undefined {
  if (message.length < SHARDED_HEAD.length + TS_FIELD.length + 8) return undefined;
  if (!startsWith(message, EMITTER_HEAD) && !startsWith(message, SHARDED_HEAD)) return undefined;
  const at = message.lastIndexOf(TS_FIELD);
  if (at < 0 || at + TS_FIELD.length + 8 > message.length) return undefined;
  const ts = message.readUInt32BE(at + TS_FIELD.length) * 2 ** 32 + message.readUInt32BE(at + TS_FIELD.length + 4);
  return Number.isSafeInteger(ts) ? ts : undefined;
}

function startsWith(message: Buffer, head: Buffer): boolean {
  return message.length >= head.length && message.compare(head, 0, head.length, 0, head.length) === 0;
}

// A classic adapter message (`[uid, packet, opts]`) for a namespace no server has: every adapter
// that decodes it ignores it ("different namespace").
const MARKER_UID = "\u0000hub-barrier";
const MARKER_NSP = "\u0000barrier";
const MARKER_HEAD = Buffer.concat([Buffer.from([0x93]), notepack.encode(MARKER_UID)]);

/**
 * A barrier marker on classic pub/sub: a message every `@socket.io/redis-adapter` ignores, which a
 * gateway publishes on a room's channel and waits to receive (see the gateway's PublishBarrier).
 */
export function encodeBarrierMarker(id: string): Buffer {
  return notepack.encode([MARKER_UID, { nsp: MARKER_NSP, id }, {}]);
}

/** The id of a barrier marker; undefined for any other message (checked by its first bytes). */
export function barrierMarkerId(message: Buffer): string | undefined {
  if (!startsWith(message, MARKER_HEAD)) return undefined;
  try {
    const [, packet] = notepack.decode(message) as [string, { id?: unknown } | undefined];
    return typeof packet?.id === "string" ? packet.id : "";
  } catch {
    return "";
  }
}
