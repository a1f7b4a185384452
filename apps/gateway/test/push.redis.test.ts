import { redisHub } from "./hub-fixture.js";
import { pushSuite } from "./push-suite.js";

pushSuite("redis engine, 2 gateways", (env) => redisHub(2, env));
