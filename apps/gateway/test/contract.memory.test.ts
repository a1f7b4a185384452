import { CONTRACT_ENV, contractSuite } from "./contract-suite.js";
import { memoryHub } from "./hub-fixture.js";

contractSuite("memory engine, single node", () => memoryHub(CONTRACT_ENV));
