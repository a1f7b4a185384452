import type { PresenceEntry } from "../presence/presence.js";

/**
 * The presence entries of each connected socket, by room (`PresenceEntry.topic`). A socket present
 * on one topic, the common case, keeps its entry alone; a Map only from its second topic on
 * (memory per connection). Sockets are held weakly.
 *
 * @example
 * const present = new PresentEntries();
 * present.add(socket, { topic: "o1/org:o1", userId: "u1", orgId: "o1", connectionId: socket.id });
 * present.get(socket, "o1/org:o1"); // the entry
 * present.takeAll(socket); // [the entry], and the socket is forgotten
 */
export class PresentEntries {
  readonly #bySocket = new WeakMap<object, PresenceEntry | Map<string, PresenceEntry>>();

  /** The socket's entry on the room, if it is present there. */
  get(socket: object, room: string): PresenceEntry | undefined {
    const held = this.#bySocket.get(socket);
    if (held instanceof Map) return held.get(room);
    return held?.topic === room ? held : undefined;
  }

  /** Records the socket's entry on its room (`entry.topic`), replacing one there. */
  add(socket: object, entry: PresenceEntry): void {
    const held = this.#bySocket.get(socket);
    if (held instanceof Map) held.set(entry.topic, entry);
    else if (held === undefined || held.topic === entry.topic) this.#bySocket.set(socket, entry);
    else
      this.#bySocket.set(
        socket,
        new Map([
          [held.topic, held],
          [entry.topic, entry],
        ]),
      );
  }

  /** Forgets the socket's entry on the room and returns it; undefined when it had none. */
  remove(socket: object, room: string): PresenceEntry | undefined {
    const held = this.#bySocket.get(socket);
    if (held instanceof Map) {
      const entry = held.get(room);
      held.delete(room);
      if (held.size === 0) this.#bySocket.delete(socket);
      return entry;
    }
    if (held?.topic !== room) return undefined;
    this.#bySocket.delete(socket);
    return held;
  }

  /** Forgets the socket and returns every entry it had. */
  takeAll(socket: object): PresenceEntry[] {
    const held = this.#bySocket.get(socket);
    this.#bySocket.delete(socket);
    if (held instanceof Map) return [...held.values()];
    return held ? [held] : [];
  }
}
