import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseProducerEvent } from "../producer-event.js";
import { JSON_SCHEMA_DIR, jsonSchemaFiles } from "./json-schema-files.js";
import { SchemaRegistry } from "./schema-registry.js";

const dir = new URL(`../../${JSON_SCHEMA_DIR}/`, import.meta.url);

describe("exported JSON Schemas", () => {
  const expected = jsonSchemaFiles();

  it("are up to date (run `pnpm --filter @hub/events schemas` after changing the catalog)", () => {
    const onDisk = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort();
    expect(onDisk).toEqual([...expected.keys()].sort());
    for (const [name, content] of expected) expect(readFileSync(new URL(name, dir), "utf8"), name).toBe(content);
  });

  it("cover every type and version of the catalog", () => {
    expect([...expected.keys()]).toEqual(
      expect.arrayContaining([
        "notification.created.v1.json",
        "tournament_match.confirmed.v2.json",
        "roster.any.json",
        "staff.team.any.json",
      ]),
    );
  });

  it("carry the sensitive marks and the envelope's required fields", () => {
    const notification = JSON.parse(expected.get("notification.created.v1.json") as string);
    expect(notification.required).toEqual(expect.arrayContaining(["type", "org_id", "payload"]));
    expect(notification.properties.payload.properties.recipient_email["x-sensitive"]).toBe(true);
    expect(notification.properties.type.enum).toEqual(["notification.created", "notification.created.v1"]);
  });

  it("accept what the hub accepts for a sample of events", () => {
    const registry = new SchemaRegistry();
    const event = {
      type: "tournament_match.confirmed.v2",
      org_id: 1,
      payload: { tournament_id: 3, match_id: "m", confirmed_at: "2026-11-23T10:00:00Z" },
    };
    expect(() => registry.validate(parseProducerEvent(event))).not.toThrow();
  });
});
