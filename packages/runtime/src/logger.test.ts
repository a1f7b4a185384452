import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

function logged(fields: Record<string, unknown>): Record<string, unknown> {
  const lines: string[] = [];
  createLogger("test", "info", "node-1", { write: (line: string) => void lines.push(line) }).info(fields, "message");
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

describe("createLogger", () => {
  it("writes one JSON object with the level name, service and node", () => {
    expect(logged({ org_id: "42" })).toMatchObject({ level: "info", service: "test", node: "node-1", org_id: "42", msg: "message" });
  });

  it("redacts credentials at the top level, one level down, and in request headers", () => {
    const line = logged({
      token: "t0",
      authorization: "Bearer t1",
      "x-api-key": "k0",
      auth: { token: "t2", password: "p0", sessionId: "s0" },
      config: { apiKey: "k1", passwordHash: "$2b$10$x", secret: "s1" },
      req: { headers: { authorization: "Bearer t3", "x-api-key": "k2", cookie: "c0", accept: "*/*" } },
      org_id: "42",
    });
    const text = JSON.stringify(line);
    for (const secret of ["t0", "t1", "t2", "t3", "k0", "k1", "k2", "p0", "s0", "s1", "c0", "$2b$10$x"])
      expect(text).not.toContain(`"${secret}`);
    expect(line).toMatchObject({ token: "[redacted]", auth: { token: "[redacted]" }, req: { headers: { accept: "*/*" } }, org_id: "42" });
  });
});
