import { type AckOk, ProtocolError, type TopicRegistry } from "@hub/events";
import type { History } from "@hub/store";
import type { HubSocket } from "./hub-socket.js";
import { roomFor } from "./topic-room.js";

/**
 * Handles `ack { topic, offset, epoch? }`: the user processed everything up to `offset` on their own
 * topic (`notifications:{sub}`, in their org), so it is not delivered again on their next subscribe,
 * on any device.
 * Acknowledgements are cumulative and never move the cursor back.
 */
export async function acknowledge(
  socket: HubSocket,
  request: unknown,
  registry: TopicRegistry,
  history: History,
  available: () => boolean,
): Promise<AckOk> {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    throw new ProtocolError("bad_request", "ack takes { topic, offset, epoch? }");
  }
  const { topic, offset, epoch, org_id } = request as Record<string, unknown>;
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || (epoch !== undefined && typeof epoch !== "string")) {
    throw new ProtocolError("bad_request", "ack takes { topic: string, offset: non-negative integer, epoch?: string }");
  }
  const parsed = registry.parse(topic);
  const principal = socket.data.principal;
  const policy = parsed.namespace.history;
  if (principal.kind !== "user" || parsed.namespace.scope !== "user" || parsed.owner !== principal.userId || !policy) {
    throw new ProtocolError("forbidden", "acknowledgements are kept for one's own topics with history, like notifications:{your user id}");
  }
  let kept: number;
  if (!available()) throw new ProtocolError("unavailable", "the acknowledgement could not be stored; send it again");
  try {
    kept = await history.acknowledge(roomFor(principal, parsed, org_id), policy, offset as number, epoch as string | undefined);
  } catch {
    throw new ProtocolError("unavailable", "the acknowledgement could not be stored; send it again");
  }
  return { ok: true, topic: parsed.topic, offset: kept };
}
