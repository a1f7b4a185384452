import { chatSuite } from "./chat-suite.js";
import { redisHub } from "./hub-fixture.js";

// Two nodes: the users of a conversation sit on different gateways.
chatSuite("redis engine, two nodes", () => redisHub(2));
chatSuite("redis engine, two nodes, sharded pub/sub", () => redisHub(2, { HUB_PUBSUB: "sharded" }));
