import { clusterHub } from "./hub-fixture.js";
import { RTC_ENV, rtcSuite } from "./rtc-suite.js";

rtcSuite("redis cluster, two nodes, sharded pub/sub", () => clusterHub(2, RTC_ENV));
