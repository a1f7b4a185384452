import { clusterHub } from "./hub-fixture.js";
import { recoverySuite } from "./recovery-suite.js";

recoverySuite("redis cluster, sharded pub/sub, two gateway nodes", async () => {
  const hub = await clusterHub(2);
  return {
    ...hub,
    async publishAll(events) {
      // Un-awaited publishes keep their order per topic: one topic's scripts go to one master on one connection.
      await Promise.all(events.map((event) => hub.publish(event)));
    },
  };
});
