import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUILTIN_NAMESPACES, isErrorCode, isRequestName, type NormalizedEvent, REQUEST_SCHEMAS, Router } from "@hub/events";
import { describe, expect, it } from "vitest";
import { envReads, ROOT } from "../test/env-reads.js";

// docs/migrating-from-prostaff-events.md maps the Phoenix service to the hub: the hub's side of each
// table (topics, event routes, socket requests, error codes, variables) must be what the code has.
const PAGE = "migrating-from-prostaff-events.md";
const DOC = readFileSync(join(ROOT, "docs", PAGE), "utf8");

const cells = (line: string) =>
  line
    .replace(/\\\|/g, "\u0000")
    .split("|")
    .slice(1, -1)
    .map((cell) => cell.replaceAll("\u0000", "|").trim());

/** The rows of the table whose header is `headers`, as header -> cell maps. */
function table(...headers: string[]): Map<string, string>[] {
  const lines = DOC.split("\n");
  const start = lines.findIndex((line) => line.startsWith("|") && cells(line).join("|") === headers.join("|"));
  if (start < 0) throw new Error(`${PAGE} has no table with the header ${headers.join(" | ")}`);
  const rows: Map<string, string>[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(new Map(cells(line).map((cell, i) => [headers[i] ?? "", cell])));
  }
  return rows;
}

/** The backticked spans of a cell. */
const spans = (cell: string | undefined) => [...(cell ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

describe(`docs/${PAGE} names what the hub has`, () => {
  it("is linked from getting-started.md", () => {
    expect(readFileSync(join(ROOT, "docs", "getting-started.md"), "utf8")).toContain(`(${PAGE})`);
  });

  it("maps each channel to a built-in namespace, with that namespace's scope", () => {
    const rows = table("prostaff-events channel", "who may join", "hub topic", "notes");
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) {
      const [topic = ""] = spans(row.get("hub topic"));
      const namespace = BUILTIN_NAMESPACES.find((ns) => ns.name === topic.split(":")[0]);
      expect(namespace, topic).toBeDefined();
      expect(row.get("notes"), topic).toContain(`scope \`${namespace?.scope}\``);
    }
  });

  it("gives each Rails type the hub's route: topic, client event and data", () => {
    const rows = table("Rails type", "prostaff-events delivered", "hub topic", "hub client event", "hub `data`");
    expect(rows.length).toBeGreaterThanOrEqual(12);
    const router = new Router();
    const payload = { tournament_id: "x-tournament-id" };
    for (const row of rows) {
      const [type = ""] = spans(row.get("Rails type"));
      const route = router.find(type);
      expect(route, type).toBeDefined();
      if (!route) continue;
      const event: NormalizedEvent = { id: "e", type, org_id: "x-org-id", user_id: "x-user-id", payload, publishedAt: undefined };
      const topics = route
        .topics(event)
        .map((topic) =>
          topic.replace("x-org-id", "{org_id}").replace("x-user-id", "{user_id}").replace("x-tournament-id", "{tournament_id}"),
        );
      expect(topics, type).toEqual(spans(row.get("hub topic")));
      expect([route.clientEvent ?? type], type).toEqual(spans(row.get("hub client event")));
      const [data = ""] = spans(row.get("hub `data`"));
      const wrapped = /^\{ (\w+): payload \}$/.exec(data)?.[1];
      expect(route.data(event), type).toEqual(wrapped ? { [wrapped]: payload } : payload);
    }
  });

  it("names only socket requests and error codes the hub has", () => {
    const rows = table("phoenix.js", "hub, `socket.io-client`", "hub, `@hub/client`");
    const column = "hub, `socket.io-client`";
    // `inhouse.leave`: a span is a request name when it starts like one (`inhouse.`, `auth.`, ...).
    const prefixes = new Set(Object.keys(REQUEST_SCHEMAS).flatMap((name) => (name.includes(".") ? [name.split(".")[0]] : [])));
    const requests = rows.flatMap((row) => [
      ...[...(row.get(column) ?? "").matchAll(/emitWithAck\("([^"]+)"/g)].map((m) => m[1] as string),
      ...spans(row.get(column)).filter((span) => /^[a-z]+\.[a-z_]+$/.test(span) && prefixes.has(span.split(".")[0])),
    ]);
    expect(requests).toEqual(expect.arrayContaining(["subscribe", "unsubscribe", "inhouse.join", "auth.refresh"]));
    expect(requests.filter((name) => !isRequestName(name))).toEqual([]);
    const refusals = rows.filter((row) => /refused/.test(row.get("phoenix.js") ?? ""));
    const codes = refusals.flatMap((row) => spans(row.get(column)).filter((span) => /^[a-z_]+$/.test(span) && span !== "connect_error"));
    expect(codes.length).toBeGreaterThanOrEqual(5);
    expect(codes.filter((code) => !isErrorCode(code))).toEqual([]);
  });

  it("names only variables the hub's processes read", () => {
    const read = new Set(envReads().map((r) => r.name));
    const rows = table("prostaff-events", "hub", "notes");
    const named = rows.flatMap((row) => spans(row.get("hub")).filter((span) => /^[A-Z][A-Z0-9_]+$/.test(span)));
    expect(named.length).toBeGreaterThanOrEqual(14);
    expect(named.filter((name) => !read.has(name))).toEqual([]);
  });
});
