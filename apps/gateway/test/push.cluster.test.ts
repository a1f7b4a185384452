import { clusterHub } from "./hub-fixture.js";
import { pushSuite } from "./push-suite.js";

pushSuite("Redis Cluster, 2 gateways", (env) => clusterHub(2, env));
