// A consumer of one group in its own process, for the crash test of client-events.test.ts: it
// handles HANDLE_FIRST events of TOPIC (other topics' events are acknowledged silently), then hangs
// in the handler of the next one, holding the rest of its batch pending, until the test kills it.
// Prints JSON lines: `consuming`, `handled { id }`, `stuck { id }`.
import { Redis } from "ioredis";
import { createHubEmitter } from "../src/index.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const topic = env("TOPIC");
const handleFirst = Number(env("HANDLE_FIRST"));
const log = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

const hub = createHubEmitter({ redis: new Redis(env("REDIS_URL")) });
let handled = 0;
hub.consumeClientEvents({
  group: env("GROUP"),
  consumer: env("CONSUMER"),
  handler: async (event) => {
    if (event.topic !== topic) return;
    if (handled === handleFirst) {
      log({ msg: "stuck", id: event.id });
      await new Promise(() => {});
    }
    handled++;
    log({ msg: "handled", id: event.id });
  },
});
log({ msg: "consuming" });
