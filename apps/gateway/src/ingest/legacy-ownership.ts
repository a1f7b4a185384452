import { isRendezvousOwner } from "./rendezvous.js";

/** Owners per org: a crashed owner loses nothing while the others notice it is gone. */
const LEGACY_REPLICAS = 2;
/** Heartbeats a node keeps processing the orgs it just lost, so nodes whose views differ overlap. */
const LEGACY_GRACE_BEATS = 2;

/**
 * Which legacy channels this node processes, from the live members its heartbeats read. Pure: the
 * heartbeat loop (legacy-partition.ts) feeds it, the channel listener asks it.
 *
 * A channel is processed when this node is one of its `replicas` rendezvous owners under the
 * current view, or under a view replaced less than `graceBeats` heartbeats ago. Before the first
 * view, and after `forget()` (heartbeats failing), every channel is processed: doing too much is
 * safe, the publish script's dedupe claim delivers each event once.
 */
export class LegacyOwnership {
  /** Undefined: no view, every channel is ours. */
  #current: readonly string[] | undefined;
  /** Views replaced by `#current`, with the heartbeats they still count for. */
  #previous: Array<{ members: readonly string[]; beats: number }> = [];

  constructor(
    private readonly self: string,
    private readonly replicas = LEGACY_REPLICAS,
    private readonly graceBeats = LEGACY_GRACE_BEATS,
  ) {}

  /** The live members one heartbeat read (this node among them). Answers whether the view changed. */
  update(members: readonly string[]): boolean {
    for (const view of this.#previous) view.beats--;
    this.#previous = this.#previous.filter((view) => view.beats > 0);
    const next = [...new Set(members)].sort();
    if (this.#current && sameMembers(this.#current, next)) return false;
    // Leaving the everything-view (first beat, or back after forget) needs no grace: the others
    // never counted on this node for what it drops.
    if (this.#current) this.#previous.push({ members: this.#current, beats: this.graceBeats });
    this.#current = next;
    return true;
  }

  /** Heartbeats are failing: this node's view may be stale, so it processes every channel again. */
  forget(): void {
    this.#current = undefined;
    this.#previous = [];
  }

  /** Whether this node processes messages of `channel`. */
  owns(channel: string): boolean {
    if (!this.#current) return true;
    if (isRendezvousOwner(this.self, channel, this.#current, this.replicas)) return true;
    return this.#previous.some((view) => isRendezvousOwner(this.self, channel, view.members, this.replicas));
  }

  /** Whether only the current view counts: no replaced view is still in its grace period. */
  settled(): boolean {
    return this.#previous.length === 0;
  }

  /** The current view (sorted), undefined while every channel is processed. */
  members(): readonly string[] | undefined {
    return this.#current;
  }
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((member, i) => member === b[i]);
}
