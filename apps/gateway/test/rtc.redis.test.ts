import { redisHub } from "./hub-fixture.js";
import { RTC_ENV, rtcSuite } from "./rtc-suite.js";

// Two nodes: the parties of a call and the participants of a huddle sit on different gateways.
rtcSuite("redis engine, two nodes", () => redisHub(2, RTC_ENV));
rtcSuite("redis engine, two nodes, sharded pub/sub", () => redisHub(2, { ...RTC_ENV, HUB_PUBSUB: "sharded" }));
