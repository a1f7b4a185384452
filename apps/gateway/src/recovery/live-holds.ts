import type { Envelope } from "@hub/events";

/** A live broadcast held back for a socket that is still catching up on its topic. */
export interface HeldEvent {
  clientEvent: string;
  envelope: Envelope;
}

/** Live broadcasts of one topic collected while one subscriber reads the topic's history. */
export interface Hold {
  readonly topic: string;
  readonly events: HeldEvent[];
}

/** Where an engine hands the live broadcasts of topics somebody on this node is catching up on. */
export interface LiveTap {
  /** Whether any hold is open; engines skip their tap entirely otherwise. */
  readonly active: boolean;
  /** Whether broadcasts of this topic are wanted; checked before anything is decoded. */
  wants(topic: string): boolean;
  push(topic: string, event: HeldEvent): void;
}

/**
 * The holds of this node. A subscriber opens a hold before it reads history, replays what it read,
 * then joins the topic's room and flushes the held events that came after, all in one tick: so it
 * gets every event once, with no gap between history and live. Costs nothing while no hold is open.
 */
export class LiveHolds implements LiveTap {
  readonly #byTopic = new Map<string, Set<Hold>>();

  open(topic: string): Hold {
    const hold: Hold = { topic, events: [] };
    let holds = this.#byTopic.get(topic);
    if (!holds) {
      holds = new Set();
      this.#byTopic.set(topic, holds);
    }
    holds.add(hold);
    return hold;
  }

  close(hold: Hold): void {
    const holds = this.#byTopic.get(hold.topic);
    holds?.delete(hold);
    if (holds?.size === 0) this.#byTopic.delete(hold.topic);
  }

  get active(): boolean {
    return this.#byTopic.size > 0;
  }

  wants(topic: string): boolean {
    return this.#byTopic.has(topic);
  }

  push(topic: string, event: HeldEvent): void {
    for (const hold of this.#byTopic.get(topic) ?? []) hold.events.push(event);
  }
}
