import { clusterHub } from "./hub-fixture.js";
import { type RecoveryFixture, recoverySuite } from "./recovery-suite.js";

recoverySuite("redis cluster, sharded pub/sub, two gateway nodes", () => twoNodes("sharded"));
// Classic pub/sub on a cluster: broadcasts cross the cluster bus; the live barrier is a marker.
recoverySuite("redis cluster, classic pub/sub, two gateway nodes", () => twoNodes("classic"));

async function twoNodes(pubsub: "classic" | "sharded"): Promise<RecoveryFixture> {
  const hub = await clusterHub(2, { HUB_PUBSUB: pubsub });
  return {
    ...hub,
    async publishAll(events) {
      // Un-awaited publishes keep their order per topic: one topic's scripts go to one master on one connection.
      await Promise.all(events.map((event) => hub.publish(event)));
    },
  };
}
