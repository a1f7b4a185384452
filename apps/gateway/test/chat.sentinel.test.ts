import { chatSuite } from "./chat-suite.js";
import { sentinelHub } from "./hub-fixture.js";

chatSuite("Sentinel-managed Redis, two nodes", () => sentinelHub(2));
