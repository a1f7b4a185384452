import { CONTRACT_ENV, contractSuite } from "./contract-suite.js";
import { clusterHub } from "./hub-fixture.js";

// Two nodes on a Redis Cluster with sharded pub/sub: clients sit on the second, HTTP ingress hits
// the first, so every path crosses the cluster.
contractSuite("redis cluster, sharded pub/sub, two nodes", () => clusterHub(2, CONTRACT_ENV));
