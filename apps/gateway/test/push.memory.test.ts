import { memoryHub } from "./hub-fixture.js";
import { pushSuite } from "./push-suite.js";

pushSuite("memory engine", (env) => memoryHub(env));
