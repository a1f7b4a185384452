import { chatSuite } from "./chat-suite.js";
import { memoryHub } from "./hub-fixture.js";

chatSuite("memory engine", () => memoryHub());
