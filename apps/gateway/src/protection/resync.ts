import { type ResyncInfo, type TopicRegistry, topicOfRoom } from "@hub/events";
import type { History } from "@hub/store";
import type { Logger } from "pino";
import type { HubSocket } from "../protocol/hub-socket.js";

/**
 * Tells a connection that was slow which topics it was taken off, each with its current position,
 * so its client subscribes again with its own `since` and recovers what was dropped. A position that
 * cannot be read (Redis away) is sent as the empty one: the client's own `since` is what counts.
 */
export async function sendResync(
  socket: HubSocket,
  rooms: readonly string[],
  context: { registry: TopicRegistry; history: History; logger: Logger },
) {
  const topics: ResyncInfo["topics"] = [];
  for (const room of rooms) {
    const topic = topicOfRoom(room);
    const policy = context.registry.namespaceOf(topic)?.history;
    let position = { offset: 0, epoch: "" };
    if (policy) {
      try {
        position = (await context.history.read(room, policy, {})).position;
      } catch (error) {
        context.logger.warn({ err: error, topic }, "resync: the topic's position could not be read");
      }
    }
    topics.push({ topic, ...position });
  }
  if (socket.connected) socket.emit("resync", { topics });
}
