import { httpPublish, memoryHub } from "./hub-fixture.js";
import { recoverySuite } from "./recovery-suite.js";

recoverySuite("memory engine, one node", async () => {
  const hub = await memoryHub();
  return {
    ...hub,
    async publishAll(events) {
      const res = await httpPublish((hub.gateways[0] as { url: string }).url, { events });
      if (res.status !== 202) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
    },
  };
});
