import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import type { CheckerAssignment, CheckerMessage, FromChecker, ToChecker } from "./load/checker-messages.js";
import { askChild, closeChild, forkScript } from "./load/child-ipc.js";
import { BENCH_ORG, BENCH_TOPIC, type BenchPayload, type SystemName, type SystemUnderTest } from "./systems.js";

const CHECKER = fileURLToPath(new URL("./load/content-checker.ts", import.meta.url));
const BENCH_EVENT = "roster.bench";
/** The hub stamps `ts` with Date.now() in the producer; our send time is performance-based: allow for the two clocks. */
const TS_SLACK_MS = 20;

/** What the producer sent as event `seq`. */
export interface Published {
  payload: BenchPayload;
  /** The id the hub's SDK reported (hub only). */
  id?: string;
}

export interface ContentCheckResult {
  /** Real clients that checked content (socket.io-client; `ws` with full JSON parsing for raw). */
  clients: number;
  client: "socket.io-client" | "ws (JSON)";
  /** Events published in the checked window. */
  events: number;
  /** Messages compared field by field. */
  checked: number;
  /** Messages that differ from what was published (any field, or a different copy on another client). */
  mismatches: number;
  missing: number;
  duplicates: number;
  outOfOrder: number;
  /** The first few problems, in words. */
  problems: string[];
  ok: boolean;
}

/** A handful of real clients in a child process that keep every measured message whole. */
export class ContentCheckers {
  private constructor(private readonly child: ChildProcess) {}

  static async start(system: SystemUnderTest, clients: number): Promise<ContentCheckers> {
    const checkers = new ContentCheckers(forkScript(CHECKER));
    const protocol = system.protocol;
    const assignment: CheckerAssignment = {
      kind: protocol.kind,
      urls: protocol.kind === "raw" ? system.urls : system.httpUrls,
      token: protocol.kind === "socket.io" && protocol.auth && "token" in protocol.auth ? protocol.auth.token : undefined,
      topic: BENCH_TOPIC,
      clients,
      minSeq: 0,
    };
    try {
      const answer = await askChild<FromChecker>(
        checkers.child,
        { type: "start", assignment } satisfies ToChecker,
        (m) => m.type !== "collected",
      );
      if (answer.type === "failed") throw new Error(`content checkers could not connect: ${answer.error}`);
      return checkers;
    } catch (error) {
      await checkers.close();
      throw error;
    }
  }

  async collect(): Promise<CheckerMessage[][]> {
    const answer = await askChild<FromChecker>(this.child, { type: "collect" } satisfies ToChecker, (m) => m.type === "collected");
    return answer.type === "collected" ? answer.received : [];
  }

  close(): Promise<void> {
    return closeChild(this.child, { type: "close" } satisfies ToChecker);
  }
}

/**
 * Compares every message the checkers kept with what was published as events 0..events-1:
 * - hub: the whole envelope. `id` is the one the SDK returned, `type`, `topic`, `org_id` are fixed,
 *   `data` deep-equals the payload, `ts` lies between the send and the receipt, `offset`s are
 *   consecutive, `epoch` is one value, and no other field; each client's copy equals the others'.
 * - plain: the event name and its one argument, deep-equal to the payload.
 * - raw: the frame parsed as JSON, deep-equal to the payload.
 * Each client must get every event once, in order.
 */
export function checkContent(
  system: SystemName,
  received: CheckerMessage[][],
  published: ReadonlyMap<number, Published>,
  events: number,
): ContentCheckResult {
  const problems: string[] = [];
  let mismatches = 0;
  let missing = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let checked = 0;
  const problem = (text: string) => {
    if (problems.length < 5) problems.push(text);
  };
  const firstCopy = new Map<number, unknown>();
  let epoch: unknown;
  let offsetBase: number | undefined;

  received.forEach((messages, client) => {
    const seen = new Set<number>();
    let last = Number.NEGATIVE_INFINITY;
    for (const message of messages) {
      const body = message.body as Record<string, unknown>;
      const payload = (system === "hub" ? body?.data : body) as BenchPayload | undefined;
      const seq = payload?.bench_seq;
      if (typeof seq !== "number" || seq >= events) continue;
      checked++;
      if (seen.has(seq)) {
        duplicates++;
        problem(`client ${client}: event ${seq} arrived twice`);
      }
      seen.add(seq);
      if (seq <= last) {
        outOfOrder++;
        problem(`client ${client}: event ${seq} after ${last}`);
      }
      last = seq;
      const expected = published.get(seq);
      const wrong = expected ? differences(system, message, expected) : ["was never published"];
      if (system === "hub" && wrong.length === 0) {
        // Fields the producer does not choose: one epoch, consecutive offsets, the same copy everywhere.
        epoch ??= body.epoch;
        if (body.epoch !== epoch) wrong.push(`epoch ${String(body.epoch)} != ${String(epoch)}`);
        const offset = body.offset as number;
        offsetBase ??= offset - seq;
        if (offset !== offsetBase + seq) wrong.push(`offset ${offset} != ${offsetBase + seq}`);
        const first = firstCopy.get(seq);
        if (first === undefined) firstCopy.set(seq, body);
        else if (!isDeepStrictEqual(first, body)) wrong.push("differs from another client's copy");
      }
      if (wrong.length > 0) {
        mismatches++;
        problem(`client ${client}, event ${seq}: ${wrong.join("; ")}`);
      }
    }
    const absent = events - seen.size;
    if (absent > 0) {
      missing += absent;
      problem(`client ${client}: ${absent} of ${events} events missing`);
    }
  });
  return {
    clients: received.length,
    client: system === "raw" ? "ws (JSON)" : "socket.io-client",
    events,
    checked,
    mismatches,
    missing,
    duplicates,
    outOfOrder,
    problems,
    ok: mismatches + missing + duplicates + outOfOrder === 0 && received.length > 0,
  };
}

function differences(system: SystemName, message: CheckerMessage, expected: Published): string[] {
  const wrong: string[] = [];
  const body = message.body as Record<string, unknown>;
  if (system === "raw") {
    if (!isDeepStrictEqual(body, expected.payload)) wrong.push("frame differs from the payload");
    return wrong;
  }
  if (message.event !== BENCH_EVENT) wrong.push(`event name ${message.event}`);
  if (message.args !== 1) wrong.push(`${message.args} arguments`);
  if (system === "plain") {
    if (!isDeepStrictEqual(body, expected.payload)) wrong.push("argument differs from the payload");
    return wrong;
  }
  const keys = Object.keys(body).sort().join(",");
  if (keys !== "data,epoch,id,offset,org_id,topic,ts,type") wrong.push(`fields ${keys}`);
  if (body.id !== expected.id) wrong.push(`id ${String(body.id)} != ${String(expected.id)}`);
  if (body.type !== BENCH_EVENT) wrong.push(`type ${String(body.type)}`);
  if (body.topic !== BENCH_TOPIC) wrong.push(`topic ${String(body.topic)}`);
  if (body.org_id !== BENCH_ORG) wrong.push(`org_id ${String(body.org_id)}`);
  if (!isDeepStrictEqual(body.data, expected.payload)) wrong.push("data differs from the payload");
  const ts = body.ts;
  if (typeof ts !== "number" || ts < expected.payload.bench_sent - TS_SLACK_MS || ts > message.at + TS_SLACK_MS) {
    wrong.push(`ts ${String(ts)} outside [send, receipt]`);
  }
  if (!Number.isInteger(body.offset)) wrong.push(`offset ${String(body.offset)}`);
  if (typeof body.epoch !== "string" || body.epoch === "") wrong.push(`epoch ${String(body.epoch)}`);
  return wrong;
}
