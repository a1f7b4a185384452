import type { Envelope } from "@hub/client";

/**
 * One chat-style line for an event, the way a Discord bot would post it.
 *
 * @example
 * formatEvent("roster.player_hired", { topic: "org:42", data: { player_id: 7 }, ... });
 * // "[org:42] roster.player_hired player 7"
 */
export function formatEvent(event: string, envelope: Envelope): string {
  return `[${envelope.topic}] ${event} ${describe(envelope.data)}`.trimEnd();
}

/** `{ player_id: 7, fee: 1000 }` -> `player 7 fee 1000`; an inhouse queue -> `queue evening check_in 10/10`. */
function describe(data: unknown): string {
  if (typeof data !== "object" || data === null) return String(data ?? "");
  const { queue, ...rest } = data as Record<string, unknown>;
  const parts = typeof queue === "object" && queue !== null ? [describeQueue(queue as Record<string, unknown>)] : [];
  for (const [key, value] of Object.entries(rest)) {
    const text = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
    parts.push(`${key.replace(/_id$/, "")} ${text}`);
  }
  return parts.join(" ");
}

function describeQueue(queue: Record<string, unknown>): string {
  const players = Array.isArray(queue.players) ? queue.players.length : 0;
  return `queue ${String(queue.id)} ${String(queue.status)} ${players}/${String(queue.capacity)}`;
}
