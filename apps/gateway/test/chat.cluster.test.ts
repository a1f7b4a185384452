import { chatSuite } from "./chat-suite.js";
import { clusterHub } from "./hub-fixture.js";

chatSuite("redis cluster, two nodes, sharded pub/sub", () => clusterHub(2));
