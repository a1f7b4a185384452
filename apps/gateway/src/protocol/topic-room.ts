import { normalizeId, type ParsedTopic, type Principal, ProtocolError, roomOf } from "@hub/events";

/**
 * The room a principal's request on a topic is about (`roomOf`): a user's per-user or granted topic
 * (or a huddle's topic) is theirs in their own org; a service names the org of such a topic with `org_id`, since a user
 * id (and a conversation id) is only unique within its org. Other topics are their own room.
 */
export function roomFor(principal: Principal, topic: ParsedTopic, orgId: unknown): string {
  const { namespace } = topic;
  if (namespace.scope !== "user" && namespace.authorize === "scope") return roomOf(topic.topic, namespace, "");
  if (principal.kind === "user") return roomOf(topic.topic, namespace, principal.orgId);
  const org = normalizeId(orgId);
  if (org === undefined) {
    throw new ProtocolError("bad_request", `a service names the org of ${namespace.name} topics: { topic, org_id }`);
  }
  return roomOf(topic.topic, namespace, org);
}
