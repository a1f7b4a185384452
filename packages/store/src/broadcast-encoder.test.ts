import { describe, expect, it } from "vitest";
import { broadcastPublishedAt, createBroadcastEncoder, decodeBroadcast } from "./broadcast-encoder.js";
import { hubKeys } from "./keys.js";

const encode = createBroadcastEncoder(hubKeys("test"));
const TS = 1_795_444_495_470;

function envelope(data: Record<string, unknown>, ts = TS) {
  return { id: "e-1", type: "roster.player_hired", topic: "org:42", org_id: "42", data, ts };
}

describe("broadcastPublishedAt", () => {
  it("reads the envelope's ts without decoding, with and without history placeholders", () => {
    const [plain, withHistory] = encode([
      { topic: "org:42", clientEvent: "roster.player_hired", envelope: envelope({ player_id: 7 }) },
      { topic: "org:42", clientEvent: "roster.player_hired", envelope: envelope({}), history: { ttlMs: 60_000, size: 10 } },
    ]);
    expect(broadcastPublishedAt(plain?.message as Buffer)).toBe(TS);
    expect(broadcastPublishedAt(withHistory?.message as Buffer)).toBe(TS);
  });

  it("is not misled by a payload field named ts", () => {
    const [broadcast] = encode([
      { topic: "org:42", clientEvent: "x", envelope: envelope({ ts: 9_999_999_999_999, nested: { ts: 5_000_000_000 } }) },
    ]);
    const message = broadcast?.message as Buffer;
    expect(decodeBroadcast(message)?.envelope.ts).toBe(TS);
    expect(broadcastPublishedAt(message)).toBe(TS);
  });

  it("answers undefined for other messages", () => {
    const [broadcast] = encode([{ topic: "org:42", clientEvent: "x", envelope: envelope({}) }]);
    // Another sender's uid (a gateway's adapter, say): not one of the hub's event broadcasts.
    const foreign = Buffer.from(broadcast?.message as Buffer);
    foreign.write("abcdefg", 2);
    expect(broadcastPublishedAt(foreign)).toBeUndefined();
    expect(broadcastPublishedAt(Buffer.from([0x93]))).toBeUndefined();
    // A ts that is no epoch-ms time (not an uint64) is not read.
    const [small] = encode([{ topic: "org:42", clientEvent: "x", envelope: envelope({}, 12) }]);
    expect(broadcastPublishedAt(small?.message as Buffer)).toBeUndefined();
  });
});
