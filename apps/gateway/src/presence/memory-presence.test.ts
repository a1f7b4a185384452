import { DEFAULT_PRESENCE_EVENTS } from "@hub/events";
import { describe, expect, it } from "vitest";
import type { HubServer } from "../protocol/hub-socket.js";
import { memoryPresence } from "./memory-presence.js";
import type { PresenceEntry } from "./presence.js";

/** Records what the presence emits to rooms, as the node's Socket.IO server would deliver it. */
function recordingServer(): { io: HubServer; emitted: Array<{ room: string; event: string; data: unknown }> } {
  const emitted: Array<{ room: string; event: string; data: unknown }> = [];
  const io = {
    to: (room: string) => ({
      emit: (event: string, envelope: { data: unknown }) => void emitted.push({ room, event, data: envelope.data }),
    }),
  } as unknown as HubServer;
  return { io, emitted };
}

const entry = (connectionId: string, userId = "u", orgId = "o", topic = "org:o"): PresenceEntry => ({ topic, userId, orgId, connectionId });

describe("memoryPresence metadata", () => {
  it("announces a change once, answers the latest connection's metadata, and forgets it with the connection", async () => {
    const { io, emitted } = recordingServer();
    const presence = memoryPresence(io, () => DEFAULT_PRESENCE_EVENTS);
    await presence.join(entry("c1"));
    await presence.join(entry("c2"));
    expect(await presence.update(entry("c3"), '{"device":"none"}')).toBe("absent");
    expect(await presence.update(entry("c1"), '{"device":"phone"}')).toBe("updated");
    expect(await presence.update(entry("c1"), '{"device":"phone"}')).toBe("unchanged");
    expect(await presence.update(entry("c2"), '{"device":"laptop"}')).toBe("updated");
    expect(emitted.filter((e) => e.event === "presence.update").map((e) => e.data)).toEqual([
      { user_id: "u", meta: { device: "phone" } },
      { user_id: "u", meta: { device: "laptop" } },
    ]);
    expect((await presence.list("org:o"))[0]?.meta).toEqual({ device: "laptop" });
    await presence.leave(entry("c2"));
    expect((await presence.list("org:o"))[0]?.meta).toEqual({ device: "phone" });
    await presence.leave(entry("c1"));
    await presence.join(entry("c1"));
    expect((await presence.list("org:o"))[0]).not.toHaveProperty("meta");
  });

  it("answers a user's topics and an org's users, never another org's", async () => {
    const { io } = recordingServer();
    const presence = memoryPresence(io, () => DEFAULT_PRESENCE_EVENTS);
    await presence.join(entry("c1", "u", "o", "org:o"));
    await presence.join(entry("c2", "u", "o", "inhouse:o"));
    await presence.join(entry("c3", "v", "o", "org:o"));
    await presence.join(entry("c4", "w", "p", "org:p"));
    expect((await presence.userTopics("o", "u")).map((t) => t.id).sort()).toEqual(["inhouse:o", "org:o"]);
    expect(await presence.userTopics("p", "u")).toEqual([]);
    expect((await presence.orgUsers("o", 10)).users.map((u) => u.id).sort()).toEqual(["u", "v"]);
    expect(await presence.orgUsers("o", 1)).toMatchObject({ truncated: true });
    await presence.leave(entry("c1", "u", "o", "org:o"));
    await presence.leave(entry("c2", "u", "o", "inhouse:o"));
    expect(await presence.userTopics("o", "u")).toEqual([]);
    expect((await presence.orgUsers("o", 10)).users.map((u) => u.id)).toEqual(["v"]);
  });
});
