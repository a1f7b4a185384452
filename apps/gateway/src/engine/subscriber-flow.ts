import { isCluster } from "@hub/runtime";
import type { RedisClient } from "@hub/store";
import type { Redis } from "ioredis";
import type { ChannelFlow } from "./engine.js";

/**
 * Pauses and resumes reading a pattern subscriber's socket: the one of a `Redis` client, or of the
 * connection a `Cluster` keeps for pub/sub (ioredis's `subscriber`, not public API). A socket made
 * by a reconnect starts paused while the flow is.
 */
export function subscriberFlow(client: RedisClient): ChannelFlow {
  let paused = false;
  const socket = (): { pause(): void; resume(): void } | undefined => {
    const redis = isCluster(client)
      ? (client as unknown as { subscriber?: { getInstance?: () => Redis | undefined } }).subscriber?.getInstance?.()
      : client;
    return (redis as unknown as { stream?: { pause(): void; resume(): void } } | undefined)?.stream;
  };
  client.on("ready", () => {
    if (paused) socket()?.pause();
  });
  return {
    pause() {
      paused = true;
      socket()?.pause();
    },
    resume() {
      paused = false;
      socket()?.resume();
    },
  };
}
