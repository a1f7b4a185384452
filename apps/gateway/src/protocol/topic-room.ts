import { normalizeId, type ParsedTopic, type Principal, ProtocolError, roomOf } from "@hub/events";

/**
 * The room a principal's request on a topic is about (`roomOf`): a user's per-user topic is theirs
 * in their own org; a service names the org of a per-user topic with `org_id`, since a user id is
 * only unique within its org. Other topics are their own room.
 */
export function roomFor(principal: Principal, topic: ParsedTopic, orgId: unknown): string {
  if (topic.namespace.scope !== "user") return topic.topic;
  if (principal.kind === "user") return roomOf(topic.topic, "user", principal.orgId);
  const org = normalizeId(orgId);
  if (org === undefined) {
    throw new ProtocolError("bad_request", `a service names the user's org on ${topic.namespace.name} topics: { topic, org_id }`);
  }
  return roomOf(topic.topic, "user", org);
}
