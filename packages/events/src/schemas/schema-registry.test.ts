import { describe, expect, it } from "vitest";
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
