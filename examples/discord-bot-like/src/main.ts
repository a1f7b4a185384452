// A bot that follows several orgs and posts one line per event, the way a Discord bot would.
//   HUB_URL=http://localhost:4000 HUB_SERVICE_TOKEN=... BOT_ORGS=1,2,3 pnpm start
import { connectHub, type HubCredentials } from "@hub/client";
import { SignJWT } from "jose";
import { formatEvent } from "./format-event.js";

const url = process.env.HUB_URL ?? "http://localhost:4000";
const orgs = (process.env.BOT_ORGS ?? "")
  .split(",")
  .map((id) => id.trim())
  .filter(Boolean);
if (orgs.length === 0) exitWith("BOT_ORGS is required: the org ids to follow, comma-separated (BOT_ORGS=1,2,3)");
const credentials = serviceCredentials();
const topics = orgs.flatMap((id) => [`org:${id}`, `inhouse:${id}`]);

// A bot needs no long-polling, so no sticky sessions at the load balancer either.
const hub = connectHub({ url, ...credentials, socketOptions: { transports: ["websocket"] } });

const pending = new Set(topics);
for (const topic of topics) {
  hub.subscribe(topic, {
    onEvent: (event, envelope) => console.log(formatEvent(event, envelope)),
    // After a reconnect the client replays what was missed; past the topic's recovery window it cannot.
    onRecoveryFailed: () => console.log(`[${topic}] some events were missed while offline: reload this org from the backend`),
    onError: (error) => console.log(`[${topic}] cannot follow: ${error.code} ${error.message}`),
    onSubscribed: () => {
      if (pending.delete(topic) && pending.size === 0) console.log(`following ${topics.join(", ")}`);
    },
  });
}

hub.on("disconnect", (reason) => {
  if (reason !== "io client disconnect") console.error(`disconnected (${reason}), reconnecting`); // not our own close()
});
hub.on("reconnect", () => console.error("reconnected, catching up from each topic's last offset"));
hub.on("error", (error) => {
  console.error(`hub error: ${error.code} ${error.message}`);
  // A token the hub refuses will not start working: stop, so a supervisor restarts the bot with a new one.
  if (error.code.startsWith("token_")) stop(1);
});

process.once("SIGTERM", () => stop(0));
process.once("SIGINT", () => stop(0));

function stop(code: number): void {
  hub.close(); // clears every timer and the socket: nothing is left to keep the process alive
  process.exitCode = code;
}

/** `HUB_SERVICE_TOKEN`, or for development a token minted from `INTERNAL_JWT_SECRET` for every handshake. */
function serviceCredentials(): HubCredentials {
  const token = process.env.HUB_SERVICE_TOKEN;
  if (token) return { token };
  const secret = process.env.INTERNAL_JWT_SECRET;
  if (!secret) return exitWith("HUB_SERVICE_TOKEN is required (or INTERNAL_JWT_SECRET, to mint one in development)");
  const key = new TextEncoder().encode(secret);
  return {
    getToken: () =>
      new SignJWT({ sub: "discord-bot-like" }).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("1h").sign(key),
  };
}

function exitWith(message: string): never {
  console.error(`discord-bot-like: ${message}`);
  process.exit(1);
}
