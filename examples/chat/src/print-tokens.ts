// Prints the tokens to chat by hand in the web console (/console/, chat panel), one pair per user:
//   JWT_SECRET=<the hub's> pnpm --filter @hub/example-chat tokens alice bob
import { memberTokens } from "./tokens.js";

const secret = process.env.JWT_SECRET;
if (!secret) {
  console.error("print-tokens: JWT_SECRET is required: the hub's (development only)");
  process.exit(1);
}
const topic = `chat:${process.env.CHAT_CONVERSATION ?? "demo"}`;
const users = process.argv.slice(2);
for (const user of users.length > 0 ? users : ["alice", "bob"]) {
  const tokens = await memberTokens(secret, { user, org: "dev-org", topic });
  console.log(`${user} (org dev-org) on ${topic}\n  user token:         ${tokens.user}\n  subscription token: ${tokens.subscription}`);
}
