import { sentinelHub } from "./hub-fixture.js";
import { RTC_ENV, rtcSuite } from "./rtc-suite.js";

rtcSuite("Sentinel-managed Redis, two nodes", () => sentinelHub(2, RTC_ENV));
