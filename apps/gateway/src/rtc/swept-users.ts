import { ProtocolError, type TopicRegistry, topicOfRoom } from "@hub/events";
import type { Logger } from "pino";
import { parseLine } from "./call-lines.js";
import { keyOfHuddle } from "./huddle-id.js";
import type { RtcContext } from "./rtc-context.js";

/**
 * What a dead gateway's sockets could not say: the presence sweep that removed its connections
 * tells this about each user whose last connection on a topic went with it. A huddle participant is
 * then away (their screen share stops, they leave after HUDDLE_GRACE_MS unless they come back); a
 * user with no connection left on their own `webrtc:` topic ends the call they were on, as a closed
 * connection would have.
 */
export function rtcSweepHandler(context: RtcContext, registry: TopicRegistry, logger: Logger) {
  const warn = (error: unknown, what: Record<string, string>) => {
    // The huddle ended or the call is over meanwhile: nothing to do.
    if (error instanceof ProtocolError && ["not_found", "forbidden", "bad_request"].includes(error.code)) return;
    logger.warn({ err: error, ...what }, "could not apply the departure of a dead gateway's user");
  };
  return (room: string, userId: string, orgId: string): void => {
    const topic = topicOfRoom(room);
    const namespace = registry.namespaceOf(topic)?.name;
    const id = topic.slice(topic.indexOf(":") + 1);
    if (namespace === "huddle") {
      const key = keyOfHuddle(id);
      if (key === undefined) return;
      context.runtime
        .apply(context.huddles, key, { type: "away", huddle_id: id, by: userId, org_id: orgId })
        .catch((error: unknown) => warn(error, { huddle_id: id, user_id: userId }));
    } else if (namespace === "webrtc") {
      void (async () => {
        const line = await context.lines.read(orgId, userId);
        if (line === null) return;
        const { callId } = parseLine(line);
        await context.runtime.apply(context.calls, callId, { type: "end", by: userId, org_id: orgId, reason: "disconnected" });
      })().catch((error: unknown) => warn(error, { user_id: userId }));
    }
  };
}
