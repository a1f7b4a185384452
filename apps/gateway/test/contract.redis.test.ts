import { CONTRACT_ENV, contractSuite } from "./contract-suite.js";
import { redisHub } from "./hub-fixture.js";

// Two nodes: clients sit on the second, HTTP ingress hits the first, so every path crosses Redis.
contractSuite("redis engine, two nodes", () => redisHub(2, CONTRACT_ENV));
