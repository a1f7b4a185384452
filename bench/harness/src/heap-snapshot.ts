// Reads a V8 .heapsnapshot without holding it as one string (a gateway with 10,000 connections
// writes hundreds of MB): the node table and the string table are parsed as a stream, edges skipped.
import { createReadStream } from "node:fs";

/** Objects of one kind in a snapshot: V8 node type and name (the constructor for objects). */
export interface HeapGroup {
  /** `type:name`, e.g. `object:Socket`, `closure:onclose`, `hidden:system / Context`, `string`. */
  key: string;
  count: number;
  bytes: number;
}

enum State {
  Meta,
  Nodes,
  SeekStrings,
  Strings,
  Done,
}

/** Self size by (type, name) over every node of the snapshot. Strings are grouped by type only. */
export async function summarizeHeapSnapshot(path: string): Promise<Map<string, HeapGroup>> {
  let state = State.Meta;
  let head = "";
  let fieldCount = 0;
  let typeOffset = 0;
  let nameOffset = 0;
  let sizeOffset = 0;
  let nodeTypes: string[] = [];
  // Per node: type index, name string index, self size.
  let types = new Uint8Array(0);
  let names = new Uint32Array(0);
  let sizes = new Float64Array(0);
  let field = 0;
  let node = 0;
  let number = 0;
  let inNumber = false;
  let tail = "";
  const strings: string[] = [];
  // Strings state: inside a JSON string literal, its bytes so far, and whether the last byte was a backslash.
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];

  const takeNumber = () => {
    if (field === typeOffset) types[node] = number;
    else if (field === nameOffset) names[node] = number;
    else if (field === sizeOffset) sizes[node] = number;
    field++;
    if (field === fieldCount) {
      field = 0;
      node++;
    }
  };

  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 }) as AsyncIterable<Buffer>) {
    let i = 0;
    if (state === State.Meta) {
      head += chunk.toString("latin1");
      const marker = head.indexOf('"nodes":[');
      if (marker < 0) continue;
      const metaText = head.slice(head.indexOf('"snapshot":') + '"snapshot":'.length, head.lastIndexOf("}", marker) + 1);
      const meta = JSON.parse(metaText) as {
        meta: { node_fields: string[]; node_types: [string[], ...unknown[]] };
        node_count: number;
      };
      const fields = meta.meta.node_fields;
      fieldCount = fields.length;
      typeOffset = fields.indexOf("type");
      nameOffset = fields.indexOf("name");
      sizeOffset = fields.indexOf("self_size");
      nodeTypes = meta.meta.node_types[0];
      types = new Uint8Array(meta.node_count);
      names = new Uint32Array(meta.node_count);
      sizes = new Float64Array(meta.node_count);
      // Continue in this chunk right after the marker (head is latin1: one char per byte).
      const consumedBefore = head.length - chunk.length;
      i = marker + '"nodes":['.length - consumedBefore;
      head = "";
      state = State.Nodes;
    }
    if (state === State.Nodes) {
      for (; i < chunk.length; i++) {
        const c = chunk[i] as number;
        if (c >= 48 && c <= 57) {
          number = inNumber ? number * 10 + (c - 48) : c - 48;
          inNumber = true;
        } else {
          if (inNumber) takeNumber();
          inNumber = false;
          if (c === 93 /* ] */) {
            state = State.SeekStrings;
            i++;
            break;
          }
        }
      }
    }
    if (state === State.SeekStrings) {
      const text = tail + chunk.toString("latin1", i);
      const marker = text.indexOf('"strings":[');
      if (marker < 0) {
        tail = text.slice(-16);
        continue;
      }
      // Offset into this chunk: the text is tail + chunk[i..].
      i = i + marker + '"strings":['.length - tail.length;
      tail = "";
      state = State.Strings;
    }
    if (state === State.Strings) {
      let start = i;
      for (; i < chunk.length; i++) {
        const c = chunk[i] as number;
        if (!inString) {
          if (c === 34 /* " */) {
            inString = true;
            escaped = false;
            start = i;
            parts = [];
          } else if (c === 93 /* ] */) {
            state = State.Done;
            break;
          }
        } else if (escaped) {
          escaped = false;
        } else if (c === 92 /* \ */) {
          escaped = true;
        } else if (c === 34) {
          parts.push(chunk.subarray(start, i + 1));
          strings.push(JSON.parse(Buffer.concat(parts).toString("utf8")) as string);
          inString = false;
        }
      }
      if (inString) parts.push(Buffer.from(chunk.subarray(start)));
    }
    if (state === State.Done) break;
  }

  const groups = new Map<string, HeapGroup>();
  for (let n = 0; n < node; n++) {
    const type = nodeTypes[types[n] as number] ?? "?";
    const isString = type === "string" || type === "concatenated string" || type === "sliced string";
    const name = isString ? "" : (strings[names[n] as number] ?? "?").slice(0, 60);
    const key = isString ? type : `${type}:${name}`;
    const group = groups.get(key);
    if (group) {
      group.count++;
      group.bytes += sizes[n] as number;
    } else {
      groups.set(key, { key, count: 1, bytes: sizes[n] as number });
    }
  }
  return groups;
}

/** What grew between two snapshots, per item (connection), largest first. */
export function heapGrowth(
  before: Map<string, HeapGroup>,
  after: Map<string, HeapGroup>,
  items: number,
  top = 25,
): Array<{ key: string; countPerItem: number; bytesPerItem: number }> {
  const rows = [...after.values()].map((a) => {
    const b = before.get(a.key);
    return { key: a.key, countPerItem: (a.count - (b?.count ?? 0)) / items, bytesPerItem: (a.bytes - (b?.bytes ?? 0)) / items };
  });
  return rows.sort((x, y) => y.bytesPerItem - x.bytesPerItem).slice(0, top);
}

/** Total self size of a snapshot. */
export function heapTotal(groups: Map<string, HeapGroup>): number {
  let total = 0;
  for (const g of groups.values()) total += g.bytes;
  return total;
}
