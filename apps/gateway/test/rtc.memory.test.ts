import { memoryHub } from "./hub-fixture.js";
import { RTC_ENV, rtcSuite } from "./rtc-suite.js";

rtcSuite("memory engine", () => memoryHub(RTC_ENV));
