import { ID_SEGMENT, type InhouseOk, ProtocolError, type QueueCommand, type RequestOf, uuidv7 } from "@hub/events";
import type { CommandQueue } from "@hub/store";
import type { HubSocket } from "./hub-socket.js";

/** Socket events a user may send for themselves, and the command each becomes. */
const INHOUSE_REQUESTS = { "inhouse.join": "join", "inhouse.leave": "leave", "inhouse.check_in": "check_in" } as const;

/**
 * Handles `inhouse.join | inhouse.leave | inhouse.check_in` `{ queue_id }`: the user acts as their
 * token's `sub`, only on their token's org's queues, and only on queues that exist and are not
 * closed (`not_found` otherwise: nothing is written). Acknowledged once the command is durable.
 */
export async function inhouseRequest(
  socket: HubSocket,
  event: keyof typeof INHOUSE_REQUESTS,
  { queue_id, org_id }: RequestOf<keyof typeof INHOUSE_REQUESTS>,
  commands: CommandQueue,
  available: () => boolean,
): Promise<InhouseOk> {
  const principal = socket.data.principal;
  if (principal.kind !== "user") throw new ProtocolError("forbidden", "inhouse requests act for a user; services send commands over HTTP");
  // The schema took ids only (a string of id characters, or a safe non-negative integer): their string form is the id.
  const queueId = String(queue_id);
  if (org_id !== undefined && String(org_id) !== principal.orgId)
    throw new ProtocolError("forbidden", "queues of another org are off limits");
  // A token's sub / org_id may be any identity string (auth0|abc, an email); queues key on ids.
  if (!ID_SEGMENT.test(principal.orgId) || !ID_SEGMENT.test(principal.userId))
    throw new ProtocolError("forbidden", "inhouse queues need a token whose sub and org_id are ids ([A-Za-z0-9_.-]{1,128})");
  if (!socket.data.subscribeBucket.take()) throw new ProtocolError("rate_limited", "too many requests; slow down");
  if (!available()) throw new ProtocolError("unavailable", "Redis is unreachable; retry shortly");
  const command: QueueCommand = {
    id: uuidv7(),
    command: INHOUSE_REQUESTS[event],
    org_id: principal.orgId,
    queue_id: queueId,
    user_id: principal.userId,
    capacity: undefined,
  };
  // Only for a queue that exists and is open: a made-up queue id leaves nothing behind.
  if ((await commands.enqueueForUser(command)) === "no_queue") {
    throw new ProtocolError("not_found", `no open queue ${queueId} in your org`);
  }
  return { ok: true, id: command.id };
}
