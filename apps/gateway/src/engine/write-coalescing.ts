import { BATCH_EVENT } from "@hub/events";
import type { Namespace } from "socket.io";
import type { Adapter, BroadcastOptions, Room, SocketId } from "socket.io-adapter";
import { WebSocket } from "ws";

/** An engine.io packet as a transport sends it; one object is shared by every socket of a broadcast. */
interface EnginePacket {
  type: "message";
  data: string;
  options: PacketOptions;
}

/** What Socket.IO's adapter passes along with an encoded packet (`wsPreEncodedFrame`: the WebSocket frame, made once). */
interface PacketOptions {
  preEncoded: true;
  volatile?: boolean;
  compress?: boolean;
  wsPreEncodedFrame?: unknown;
}

/** The parts of engine.io's connection the direct write reads: its state, its packet queue and its transport. */
interface EngineConnection {
  readyState: string;
  writeBuffer: unknown[];
  transport: { name: string; writable: boolean; perMessageDeflate: unknown; send(packets: readonly EnginePacket[]): void };
}

/** The parts of a Socket.IO socket a delivery touches. */
interface DeliverySocket {
  conn: unknown;
  data: { coalesce?: boolean; lagging?: unknown };
  client: { writeToEngine(encoded: readonly unknown[], opts: PacketOptions): void };
}

/** The parts of the adapter this module wraps, including the two internals `Adapter#broadcast` calls in order. */
interface WrappedAdapter {
  rooms: Map<Room, Set<SocketId>>;
  sids: Map<SocketId, Set<Room>>;
  nsp: { name: string; sockets: Map<SocketId, DeliverySocket> };
  _encode(packet: SocketIoPacket, packetOpts: PacketOptions): unknown[];
  apply(opts: BroadcastOptions, callback: (socket: unknown) => void): void;
  addAll(id: SocketId, rooms: Set<Room>): Promise<void> | void;
  del(id: SocketId, room: Room): Promise<void> | void;
  delAll(id: SocketId): void;
  close(): Promise<void> | void;
}

interface SocketIoPacket {
  id?: number;
  nsp?: string;
  data?: unknown;
}

/** `ws`'s frame builder (untyped), which Socket.IO's adapter uses for the same purpose. */
interface WsWithSender {
  Sender: { frame(data: Buffer, options: { readOnly: boolean; mask: boolean; rsv1: boolean; opcode: number; fin: boolean }): Buffer[] };
}

/** One broadcast as the adapter encoded it. */
interface Encoded {
  packet: SocketIoPacket;
  encoded: unknown[];
  opts: PacketOptions;
}

export interface WriteCoalescingOptions {
  /**
   * `WRITE_DELAY_MS`: how long a room's broadcasts wait for more to the same room before they are
   * written; 0 writes them at the end of the current event-loop turn (`setImmediate`).
   * @default 0
   */
  delayMs: number;
  /** Counts what went out: batch frames written and the events they carried (once per flush). */
  onBatches?(frames: number, events: number): void;
  /** A run of a room's held broadcasts could not be written (the others still are). */
  onError?(error: unknown, room: Room): void;
  /**
   * A broadcast's delivery to this socket was queued behind its earlier writes (engine.io's packet
   * queue is not empty after it): the outbound guard watches it from then on.
   */
  onBacklog?(socket: unknown): void;
}

/**
 * Delivers a namespace's room broadcasts without Socket.IO's per-socket bookkeeping, and coalesces
 * consecutive broadcasts to one room within one event-loop turn (or `delayMs`) into one WebSocket
 * frame per connection for clients that negotiated it (`auth.coalesce === true`, which
 * `socket.data.coalesce` holds; the client SDK does):
 * `42["batch",[["event",{...}],["event",{...}]]]`. Other clients get one frame per event, as before.
 *
 * A broadcast to one room with local members, no exceptions, no acknowledgement, not volatile and
 * without binary parts is held (runs of one room's broadcasts in arrival order; nothing per socket)
 * and written when the turn ends: each run is encoded once (its batch frame once too), and for each
 * member a connection on a writable WebSocket with nothing queued gets the shared packets through
 * its transport directly; any other (long-polling, mid-upgrade, backed up) goes through Socket.IO's
 * own path, in order. Any other broadcast goes through the adapter as before.
 *
 * Every connection gets what it gets in arrival order, across rooms too: runs are written in order,
 * and everything held is written before a broadcast that is not held, and before any socket joins or
 * leaves a room (or disconnects). So membership is what it was when a broadcast arrived: a socket
 * that joins a room after a catch-up (which collected the same broadcasts from the live tap) never
 * gets them twice, and a socket that leaves still gets what arrived before it left. A connection the
 * outbound guard took off its topics (`lagging`) gets nothing more.
 *
 * Works on the adapter instance (Socket.IO's in-memory adapter and both Redis adapters deliver
 * through `Adapter#broadcast`, which calls `_encode` and then `apply`): `_encode` notes the encoded
 * broadcast, `apply` takes it over when it qualifies. Those two are internals of socket.io-adapter,
 * so its version and the Redis adapter's are pinned (apps/gateway/package.json) and
 * write-coalescing.test.ts checks the pairing (acks and `fetchSockets` right after a held broadcast).
 * Direct writes skip engine.io's `packetCreate` / `flush` events: the admin UI's outbound packet
 * counts leave them out.
 *
 * @example
 * const adapter = coalesceWrites(new Adapter(nsp), { delayMs: 0 });
 */
export function coalesceWrites<A extends Adapter>(adapter: A, options: WriteCoalescingOptions): A {
  const target = adapter as unknown as WrappedAdapter;
  const encode = target._encode.bind(target);
  const apply = target.apply.bind(target);
  const addAll = target.addAll.bind(target);
  const del = target.del.bind(target);
  const delAll = target.delAll.bind(target);
  const close = target.close.bind(target);
  // Runs of consecutive broadcasts to one room, in arrival order: A1 A2 B1 A3 is [A1 A2] [B1] [A3].
  const held: Array<{ room: Room; list: Encoded[] }> = [];
  let last: Encoded | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let timer: NodeJS.Timeout | undefined;
  let batchFrames = 0;
  let batchEvents = 0;
  let closed = false;

  const flushAll = () => {
    // Also called early (a join, a broadcast not held): the scheduled flush is then not needed.
    if (immediate !== undefined) clearImmediate(immediate);
    if (timer !== undefined) clearTimeout(timer);
    immediate = undefined;
    timer = undefined;
    // Taken whole first: a delivery that makes a socket join or leave flushes again, finding nothing.
    const runs = held.splice(0);
    for (const { room, list } of runs) deliverSafely(room, list);
    if (batchFrames > 0) {
      options.onBatches?.(batchFrames, batchEvents);
      batchFrames = 0;
      batchEvents = 0;
    }
  };
  const deliverSafely = (room: Room, list: Encoded[]) => {
    try {
      deliver(room, list);
    } catch (error) {
      options.onError?.(error, room);
    }
  };

  // A lagging connection's queue was just emptied: it recovers from history after its `resync`.
  const deliver = (room: Room, list: Encoded[]) => {
    const members = target.rooms.get(room);
    if (members === undefined || members.size === 0) return;
    const sockets = target.nsp.sockets;
    if (list.length === 1) {
      const one = list[0] as Encoded;
      const shared = [enginePacket(one)];
      for (const id of members) {
        const socket = sockets.get(id);
        if (socket === undefined || socket.data.lagging !== undefined) continue;
        if (!writeDirect(socket, shared)) {
          socket.client.writeToEngine(one.encoded, one.opts);
          noteBacklog(socket);
        }
      }
      return;
    }
    const each = list.map(enginePacket);
    let batch: Encoded | undefined;
    let sharedBatch: EnginePacket[] | undefined;
    for (const id of members) {
      const socket = sockets.get(id);
      if (socket === undefined || socket.data.lagging !== undefined) continue;
      if (socket.data.coalesce === true) {
        batch ??= batchOf(list);
        sharedBatch ??= [enginePacket(batch)];
        batchFrames++;
        batchEvents += list.length;
        if (!writeDirect(socket, sharedBatch)) {
          socket.client.writeToEngine(batch.encoded, batch.opts);
          noteBacklog(socket);
        }
      } else if (!writeDirect(socket, each)) {
        for (const one of list) socket.client.writeToEngine(one.encoded, one.opts);
        noteBacklog(socket);
      }
    }
  };
  const { onBacklog } = options;
  const noteBacklog = (socket: DeliverySocket) => {
    if (onBacklog !== undefined && (socket.conn as EngineConnection).writeBuffer.length > 0) onBacklog(socket);
  };
  // Socket.IO's own path (a broadcast not held): one wrapper per broadcast, nothing per socket but the check.
  const applyNoting = (opts: BroadcastOptions, callback: (socket: unknown) => void) =>
    apply(
      opts,
      onBacklog === undefined
        ? callback
        : (socket) => {
            callback(socket);
            noteBacklog(socket as DeliverySocket);
          },
    );

  const hold = (room: Room, broadcast: Encoded) => {
    const run = held.at(-1);
    if (run !== undefined && run.room === room) run.list.push(broadcast);
    else held.push({ room, list: [broadcast] });
    if (immediate !== undefined || timer !== undefined) return;
    if (options.delayMs > 0) timer = setTimeout(flushAll, options.delayMs);
    else immediate = setImmediate(flushAll);
  };

  target._encode = (packet, packetOpts) => {
    const encoded = encode(packet, packetOpts);
    last = { packet, encoded, opts: packetOpts };
    return encoded;
  };
  target.apply = (opts, callback) => {
    const broadcast = last;
    last = undefined;
    const room = broadcast === undefined || closed ? undefined : singleRoom(broadcast, target.nsp.name, opts);
    // Nobody here (the memory engine broadcasts every topic): nothing to hold.
    if (room !== undefined && target.rooms.has(room)) return hold(room, broadcast as Encoded);
    // Anything else goes out now, behind everything held.
    if (held.length > 0) flushAll();
    applyNoting(opts, callback);
  };
  target.addAll = (id, rooms) => {
    if (held.length > 0) flushAll();
    return addAll(id, rooms);
  };
  target.del = (id, room) => {
    if (held.length > 0) flushAll();
    return del(id, room);
  };
  target.delAll = (id) => {
    if (held.length > 0) flushAll();
    return delAll(id);
  };
  target.close = () => {
    closed = true;
    flushAll();
    return close();
  };
  return adapter;
}

/** The one room of a broadcast this module may hold: to one room, no exceptions, no ack, not volatile, one text packet. */
function singleRoom({ packet, encoded, opts: packetOpts }: Encoded, nsp: string, opts: BroadcastOptions): Room | undefined {
  if (packet.nsp !== nsp || opts.rooms.size !== 1 || (opts.except !== undefined && opts.except.size > 0)) return undefined;
  if (packet.id !== undefined || packetOpts.volatile || encoded.length !== 1) return undefined;
  // An EVENT packet of the main namespace (`2[...]`): what a batch splices.
  const text = encoded[0];
  if (typeof text !== "string" || !text.startsWith("2[")) return undefined;
  for (const room of opts.rooms) return room;
  return undefined;
}

/**
 * Writes the shared packets straight to the connection's WebSocket transport when it can take them
 * now (open, writable, nothing queued ahead, no per-message compression); false otherwise, and the
 * caller goes through Socket.IO's path, which queues them behind what is waiting.
 */
function writeDirect(socket: DeliverySocket, packets: readonly EnginePacket[]): boolean {
  const conn = socket.conn as EngineConnection;
  const transport = conn.transport;
  if (conn.readyState !== "open" || conn.writeBuffer.length > 0 || !transport.writable) return false;
  if (transport.name !== "websocket" || transport.perMessageDeflate) return false;
  transport.send(packets);
  return true;
}

function enginePacket({ encoded, opts }: Encoded): EnginePacket {
  return { type: "message", data: encoded[0] as string, options: opts };
}

/**
 * One `batch` event carrying the list's events, spliced from their encodings (`2[...]`, an EVENT
 * packet of the main namespace) without encoding any payload again, with its WebSocket frame.
 */
function batchOf(list: readonly Encoded[]): Encoded {
  let data = `2["${BATCH_EVENT}",[`;
  for (let i = 0; i < list.length; i++) {
    if (i > 0) data += ",";
    data += ((list[i] as Encoded).encoded[0] as string).slice(1);
  }
  data += "]]";
  const opts: PacketOptions = { preEncoded: true };
  opts.wsPreEncodedFrame = (WebSocket as unknown as WsWithSender).Sender.frame(Buffer.from(`4${data}`), {
    readOnly: false,
    mask: false,
    rsv1: false,
    opcode: 1,
    fin: true,
  });
  return { packet: {}, encoded: [data], opts };
}

/** What Socket.IO's `adapter` option takes: a class or a factory, called with `new` for each namespace. */
export type AdapterConstructor = new (nsp: Namespace) => Adapter;

/**
 * The adapter constructor (Socket.IO's in-memory `Adapter`, or a Redis adapter's factory) whose
 * adapters coalesce their writes.
 *
 * @example
 * io.adapter(coalescingAdapter(createAdapter(pub, sub), { delayMs: 0 }));
 */
export function coalescingAdapter(base: AdapterConstructor, options: WriteCoalescingOptions): AdapterConstructor {
  // Socket.IO calls it with `new`: a function, not an arrow (the object it returns is the adapter).
  function coalescing(nsp: Namespace): Adapter {
    return coalesceWrites(new base(nsp), options);
  }
  return coalescing as unknown as AdapterConstructor;
}
