// Two users chat through the hub: each connects with a user token, subscribes to the conversation
// with a subscription token (the grant a backend gives a member), and they exchange a message each
// way, with a typing indicator first.
//   HUB_URL=http://localhost:4000 JWT_SECRET=<the hub's> pnpm --filter @hub/example-chat start
import { randomUUID } from "node:crypto";
import { connectHub, type Hub } from "@hub/client";
import { memberTokens } from "./tokens.js";

const url = process.env.HUB_URL ?? "http://localhost:4000";
const secret =
  process.env.JWT_SECRET ?? exitWith("JWT_SECRET is required: the hub's, to mint the tokens your backend would (development only)");
const topic = `chat:${process.env.CHAT_CONVERSATION ?? `demo-${randomUUID().slice(0, 8)}`}`;
const org = "dev-org";

interface Member {
  name: string;
  hub: Hub;
  /** Resolves with the first event (already seen or still to come) that matches. */
  next(match: (event: string, sender: string | undefined, text: string | undefined) => boolean): Promise<string>;
}

async function join(name: string): Promise<Member> {
  // What your backend does: a user token for the handshake, and a grant for the conversation.
  const tokens = await memberTokens(secret, { user: name, org, topic });
  const hub = connectHub({ url, token: tokens.user, socketOptions: { transports: ["websocket"] } });
  hub.on("error", (error) => exitWith(`${name}: ${error.code} ${error.message}`));
  const seen: Array<[string, string | undefined, string | undefined]> = [];
  const waiters = new Set<() => void>();
  const subscribed = new Promise<void>((resolve, reject) => {
    hub.subscribe(topic, {
      token: tokens.subscription, // sent again with every resubscribe after a reconnect; publish and typing use it too
      onSubscribed: () => resolve(),
      onError: (error) => reject(error),
      onEvent: (event, envelope) => {
        const text = event === "message:new" ? envelope.data.text : undefined;
        seen.push([event, envelope.sender_id, text]);
        for (const check of waiters) check();
      },
    });
  });
  await subscribed;
  const next: Member["next"] = (match) =>
    new Promise((resolve) => {
      const check = () => {
        const found = seen.find(([event, sender, text]) => match(event, sender, text));
        if (!found) return;
        waiters.delete(check);
        resolve(found[2] ?? found[0]);
      };
      waiters.add(check);
      check();
    });
  return { name, hub, next };
}

const timer = setTimeout(() => exitWith("no answer within 20 s"), 20_000);
const [alice, bob] = await Promise.all([join("alice"), join("bob")]);
console.log(`alice and bob joined ${topic}`);

// Bob starts typing: Alice sees it (his own other tabs would not).
const typing = bob.hub.typing(topic);
typing.start();
await alice.next((event, sender) => event === "typing:start" && sender === "bob");
console.log("alice sees: bob is typing…");
typing.close(); // sends typing:stop

const sent = await alice.hub.publish(topic, "message:send", { text: "hello bob" }); // retried with the same id until acknowledged
console.log(`alice sent "hello bob" (offset ${sent.offset})`);
console.log(`bob received from alice: "${await bob.next((event, sender) => event === "message:new" && sender === "alice")}"`);

await bob.hub.publish(topic, "message:send", { text: "hi alice" });
console.log(`alice received from bob: "${await alice.next((event, sender) => event === "message:new" && sender === "bob")}"`);

clearTimeout(timer);
alice.hub.close();
bob.hub.close();

function exitWith(message: string): never {
  console.error(`chat example: ${message}`);
  process.exit(1);
}
