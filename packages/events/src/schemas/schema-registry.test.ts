import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import type { EventSchemaSpec } from "./catalog.js";
import { Payload, Sensitive } from "./common.js";
import { SchemaRegistry } from "./schema-registry.js";

describe("SchemaRegistry.catalogType", () => {
  const schemas = new SchemaRegistry();

  it("names exact types with their version, the first version without suffix", () => {
    expect(schemas.catalogType("tournament_match.confirmed")).toBe("tournament_match.confirmed");
    expect(schemas.catalogType("tournament_match.confirmed.v1")).toBe("tournament_match.confirmed");
    expect(schemas.catalogType("tournament_match.confirmed.v2")).toBe("tournament_match.confirmed.v2");
  });

  it("names members of a family by the family, so producers cannot grow the set", () => {
    expect(schemas.catalogType("player.transferred")).toBe("player.*");
    expect(schemas.catalogType("player.anything_at_all.v7")).toBe("player.*");
    expect(schemas.catalogType("staff.team.created")).toBe("staff.team.*");
  });

  it("is undefined for unknown types and versions", () => {
    expect(schemas.catalogType("no.such_type")).toBeUndefined();
    expect(schemas.catalogType("tournament_match.confirmed.v9")).toBeUndefined();
  });
});

describe("SchemaRegistry: sensitive fields", () => {
  const spec = (payload: EventSchemaSpec["payload"]): EventSchemaSpec => ({ type: "secret.thing", description: "test", payload });

  it("removes sensitive properties of nested objects and of the items of arrays, at any depth", () => {
    const schemas = new SchemaRegistry([
      spec(
        Payload({
          token: Sensitive(Type.String()),
          owner: Type.Object({ name: Type.String(), email: Sensitive(Type.String()) }),
          contacts: Type.Array(Type.Object({ name: Type.String(), email: Sensitive(Type.String()) })),
          teams: Type.Array(Type.Object({ members: Type.Array(Type.Object({ id: Type.String(), phone: Sensitive(Type.String()) })) })),
        }),
      ),
    ]);
    const payload = {
      token: "t",
      owner: { name: "o", email: "o@x" },
      contacts: [{ name: "a", email: "a@x" }, { name: "b" }, "not an object"],
      teams: [{ members: [{ id: "1", phone: "555" }, { id: "2" }] }, { members: "none" }],
      kept: 1,
    };
    const scrubbed = schemas.scrub({ type: "secret.thing", payload });
    expect(scrubbed).toEqual({
      owner: { name: "o" },
      contacts: [{ name: "a" }, { name: "b" }, "not an object"],
      teams: [{ members: [{ id: "1" }, { id: "2" }] }, { members: "none" }],
      kept: 1,
    });
    expect(JSON.stringify(scrubbed)).not.toMatch(/@x|555|"t"/);
    // The input is not changed.
    expect(payload.contacts[0]).toEqual({ name: "a", email: "a@x" });
  });

  it("returns the payload itself when there is nothing to remove", () => {
    const schemas = new SchemaRegistry([spec(Payload({ list: Type.Array(Type.Object({ secret: Sensitive(Type.String()) })) }))]);
    const payload = { list: [{ other: 1 }] };
    expect(schemas.scrub({ type: "secret.thing", payload })).toBe(payload);
  });

  it.each([
    ["a union branch", Payload({ contact: Type.Union([Sensitive(Type.String()), Type.Null()]) })],
    ["an object inside a union", Payload({ contact: Type.Union([Type.Object({ email: Sensitive(Type.String()) }), Type.Null()]) })],
    ["array items themselves", Payload({ emails: Type.Array(Sensitive(Type.String())) })],
    ["a tuple", Payload({ pair: Type.Tuple([Type.String(), Sensitive(Type.String())]) })],
    ["additionalProperties", Type.Object({}, { additionalProperties: Type.Object({ email: Sensitive(Type.String()) }) })],
    [
      "an intersection",
      Payload({ person: Type.Intersect([Type.Object({ id: Type.String() }), Type.Object({ email: Sensitive(Type.String()) })]) }),
    ],
    ["the whole payload", Sensitive(Payload({}))],
  ])("refuses at construction a sensitive mark in %s, which scrubbing cannot reach", (_name, payload) => {
    expect(() => new SchemaRegistry([spec(payload)])).toThrow(/x-sensitive/);
  });

  it("accepts a sensitive property that holds a union", () => {
    const schemas = new SchemaRegistry([spec(Payload({ contact: Sensitive(Type.Union([Type.String(), Type.Null()])) }))]);
    expect(schemas.scrub({ type: "secret.thing", payload: { contact: "c", other: 1 } })).toEqual({ other: 1 });
  });

  it("builds the catalog's registry", () => {
    expect(() => new SchemaRegistry()).not.toThrow();
  });
});
