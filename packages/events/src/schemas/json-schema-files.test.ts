import { readdirSync, readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { PublishError } from "../hub-error.js";
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

  describe("give the same verdict as the hub", () => {
    const registry = new SchemaRegistry();
    const ajv = new Ajv({ allErrors: false });
    ajv.addKeyword("x-sensitive");
    ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$/);
    /** The exported files (read from disk, as producers get them) with the catalog entry each describes. */
    const files = registry.jsonSchemas().map(({ name }) => {
      const schema = JSON.parse(readFileSync(new URL(`${name}.json`, dir), "utf8")) as Record<string, unknown>;
      const family = name.endsWith(".any");
      const version = family ? undefined : Number(/\.v(\d+)$/.exec(name)?.[1]);
      const base = family ? `${name.slice(0, -4)}.*` : name.replace(/\.v\d+$/, "");
      return { name, catalogType: family || version !== 1 ? (family ? base : name) : base, validate: ajv.compile(schema) };
    });
    /** A payload every catalog entry accepts (they all allow extra properties). */
    const payload = {
      tournament_id: 3,
      match_id: "m-1",
      confirmed_at: "2026-11-23T10:00:00Z",
      queue: { id: "q", status: "open", players: [] },
      removed: [],
      uuid: "u-1",
      team_uuid: "t-1",
      person_uuid: "p-1",
    };
    const families = files.filter((f) => f.name.endsWith(".any")).map((f) => f.catalogType.slice(0, -1));
    const exact = files.filter((f) => !f.name.endsWith(".any")).map((f) => f.catalogType.replace(/\.v\d+$/, ""));
    const types = [
      ...families.flatMap((prefix) => [
        `${prefix}a`,
        `${prefix}player_hired`,
        `${prefix}a.b.v2`,
        `${prefix}a_1.b_2`,
        `${prefix}a.`,
        `${prefix}a..b`,
        `${prefix}.a`,
        prefix,
        prefix.slice(0, -1),
        `${prefix}A`,
        `${prefix}1a`,
        `${prefix}_a`,
        `${prefix}a-b`,
        `${prefix}a b`,
        `${prefix}é`,
        `${prefix}a\n`,
        `${prefix}${"a".repeat(128 - prefix.length)}`,
        `${prefix}${"a".repeat(129 - prefix.length)}`,
        `${prefix}${"a".repeat(300)}`,
        `x${prefix}a`,
        ` ${prefix}a`,
      ]),
      ...exact.flatMap((type) => [type, `${type}.v1`, `${type}.v2`, `${type}.v7`, `${type}.`, `${type}x`, type.toUpperCase(), `${type}.v`]),
      "",
      "a",
      "a.b",
      "ticket.sold",
    ];

    /** The hub's verdict: the envelope is valid and the type validates against this catalog entry. */
    function hubAccepts(type: string, catalogType: string): boolean {
      try {
        const event = parseProducerEvent({ type, org_id: 42, payload });
        registry.validate(event);
        return registry.catalogType(type) === catalogType;
      } catch (error) {
        if (error instanceof PublishError) return false;
        throw error;
      }
    }

    it("on valid and invalid types, for every exported file", () => {
      const disagreements: string[] = [];
      for (const file of files) {
        for (const type of types) {
          const hub = hubAccepts(type, file.catalogType);
          const exported = file.validate({ type, org_id: 42, payload }) as boolean;
          if (hub !== exported) disagreements.push(`${file.name} ${JSON.stringify(type)}: hub ${hub}, JSON Schema ${exported}`);
        }
      }
      expect(disagreements).toEqual([]);
      // The samples do exercise both verdicts.
      expect(files.every((f) => types.some((t) => hubAccepts(t, f.catalogType)))).toBe(true);
    });

    it("on envelope fields", () => {
      const roster = files.find((f) => f.name === "roster.any");
      const samples: unknown[] = [
        { type: "roster.a", org_id: 42, payload: {} },
        { type: "roster.a", org_id: "o-1", user_id: null, id: 7, payload: {}, published_at: 1.5 },
        { type: "roster.a", org_id: -1, payload: {} },
        { type: "roster.a", org_id: "a:b", payload: {} },
        { type: "roster.a", org_id: 1.5, payload: {} },
        { type: "roster.a", payload: {} },
        { type: "roster.a", org_id: 1, payload: [] },
        { type: "roster.a", org_id: 1, payload: null },
        { type: "roster.a", org_id: 1, payload: {}, id: "" },
        { type: "roster.a", org_id: 1, payload: {}, published_at: "x".repeat(65) },
      ];
      for (const sample of samples) {
        let hub = true;
        try {
          registry.validate(parseProducerEvent(sample));
        } catch {
          hub = false;
        }
        expect(roster?.validate(sample), JSON.stringify(sample)).toBe(hub);
      }
    });
  });
});
