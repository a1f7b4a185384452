import {
  checkJsonLimits,
  MAX_EVENT_BYTES,
  MAX_EVENT_DEPTH,
  type NormalizedEvent,
  PublishError,
  type PublishErrorCode,
  parseProducerEvent,
  Router,
  roomOf,
  SchemaRegistry,
  TopicRegistry,
  toEnvelope,
  uuidv7,
} from "@hub/events";
import { capRaw, type DeadLetter, type DeadLetters, deadLetterStreamName, type IngestSource } from "./dead-letters.js";
import type { EventSink, Outgoing } from "./event-sink.js";

/** What a successful publish reports. */
export interface PublishResult {
  /** The event's id: the producer's, or the one the hub assigned. */
  id: string;
  /** Every topic the event was delivered on. */
  topics: string[];
  /** True when the id was seen within the dedupe window: accepted, not delivered again. */
  duplicate: boolean;
}

export interface PublishContext {
  source: IngestSource;
  /** The input is text as received (the legacy channel, a replayed entry): parse it as JSON first. @default false */
  raw?: boolean;
  /** The legacy channel the input arrived on. */
  channel?: string;
  /** Refuse the event (`org_mismatch`) unless its `org_id` is this one. */
  expectOrgId?: string;
  /** Identifies the input across nodes, so a rejection is dead-lettered once. */
  fingerprint?: string;
  /** The id to give an event without one. @default a fresh UUIDv7 */
  assignId?: (event: NormalizedEvent) => string;
  /** Record rejections in the dead-letter queue. @default true */
  deadLetter?: boolean;
}

export interface PublisherOptions {
  sink: EventSink;
  deadLetters: DeadLetters;
  /** @default the contract's routing table */
  router?: Router;
  /** @default the contract's event schemas */
  schemas?: SchemaRegistry;
  /** Which topics keep history (and how much); must match the gateways' `HUB_NAMESPACES`. @default the built-in namespaces */
  topics?: TopicRegistry;
  /** @default Date.now */
  now?: () => number;
  /**
   * Largest event accepted, in bytes of JSON text (UTF-8): text input is measured as received, an
   * object as `JSON.stringify` would write it. Larger input is refused with `payload_too_large`.
   * @default MAX_EVENT_BYTES (1 MiB, the HTTP body limit)
   */
  maxEventBytes?: number;
  /**
   * Deepest nesting of objects and arrays accepted, the event itself being level 1. Deeper input is
   * refused with `invalid_event` before any recursive step (validation, encoding) sees it.
   * @default MAX_EVENT_DEPTH (64)
   */
  maxEventDepth?: number;
  /** Told about dead-letter writes that failed (the rejection itself still reaches the caller), with what was refused. */
  onDeadLetterError?: (error: unknown, letter: Pick<DeadLetter, "source" | "code" | "orgId" | "type">) => void;
  /**
   * Told about each valid event handed to the sink, for metrics: `type` is the catalog entry it
   * validated against (SchemaRegistry.catalogType: `player.*` for a family member), so a bounded set;
   * `duplicate` whether the sink had seen its id. Must not throw.
   */
  onPublished?: (source: IngestSource, type: string, duplicate: boolean) => void;
  /**
   * Told about each rejection recorded in the dead-letter queue (not one another node already
   * recorded); `overflow` when it went to its source's overflow stream (`DeadLetterReceipt`). Must not throw.
   */
  onDeadLettered?: (source: IngestSource, code: PublishErrorCode, overflow: boolean) => void;
}

/**
 * The one publish pipeline every producer path goes through: parse -> validate (envelope, then the
 * versioned payload schema) -> route -> scrub sensitive fields -> dedupe + broadcast (one atomic
 * step in the sink). Rejections go to the dead-letter queue and reach the caller as `PublishError`.
 */
export interface Publisher {
  publish(input: unknown, context: PublishContext): Promise<PublishResult>;
  /**
   * Validates every event first and delivers none if any is bad: the `PublishError`'s issues are
   * prefixed with the event's index (`events.3.org_id: ...`); the bad events are dead-lettered.
   */
  publishMany(inputs: readonly unknown[], context: PublishContext): Promise<PublishResult[]>;
  /**
   * Records input its caller refused itself (a legacy command without a queue id) as the pipeline
   * records its own refusals: names the input's org and type on `error`, scrubs and caps the raw
   * input, dead-letters it once per `context.fingerprint`, and reports through the same hooks.
   */
  reject(input: unknown, error: PublishError, context: PublishContext): Promise<void>;
}

interface Prepared {
  id: string;
  orgId: string;
  type: string;
  outgoing: Outgoing[];
}

export function createPublisher(options: PublisherOptions): Publisher {
  const router = options.router ?? new Router();
  const schemas = options.schemas ?? new SchemaRegistry();
  const topics = options.topics ?? new TopicRegistry();
  const now = options.now ?? Date.now;
  const limits = { maxBytes: options.maxEventBytes ?? MAX_EVENT_BYTES, maxDepth: options.maxEventDepth ?? MAX_EVENT_DEPTH };
  const { sink, deadLetters } = options;

  /** Everything before delivery; synchronous, so calls reach the sink in call order. */
  function prepare(input: unknown, context: PublishContext): Prepared {
    const text = context.raw && typeof input === "string";
    if (text && tooLong(input, limits.maxBytes)) throw tooLarge(limits.maxBytes);
    const raw = text ? parseJson(input) : input;
    // Before anything recursive sees the input (the validators, the broadcast encoder, stringify).
    const breach = checkJsonLimits(raw, limits);
    if (breach === "size") throw tooLarge(limits.maxBytes);
    if (breach === "depth") {
      throw new PublishError("invalid_event", `event is nested deeper than ${limits.maxDepth} levels of objects and arrays`, [
        `(event): nested deeper than ${limits.maxDepth} levels`,
      ]);
    }
    const event = parseProducerEvent(raw);
    if (context.expectOrgId !== undefined && event.org_id !== context.expectOrgId) {
      throw new PublishError("org_mismatch", `org_id ${event.org_id} does not match the channel's org ${context.expectOrgId}`);
    }
    schemas.validate(event);
    // Sensitive fields go before routing, so no delivery can carry them.
    const scrubbed = { ...event, id: event.id ?? context.assignId?.(event) ?? uuidv7(), payload: schemas.scrub(event) };
    const ts = now();
    const outgoing = router.route(scrubbed).map((d): Outgoing => {
      const namespace = topics.namespaceOf(d.topic);
      const history = namespace?.history;
      const envelope = toEnvelope(scrubbed, d, ts);
      // The envelope names the topic; the room (and history) of a per-user topic is the user's in their org.
      const room = namespace ? roomOf(d.topic, namespace, scrubbed.org_id) : d.topic;
      return history
        ? { topic: room, clientEvent: d.clientEvent, envelope, history }
        : { topic: room, clientEvent: d.clientEvent, envelope };
    });
    return { id: scrubbed.id, orgId: scrubbed.org_id, type: scrubbed.type, outgoing };
  }

  async function deliver({ id, orgId, type, outgoing }: Prepared, source: IngestSource): Promise<PublishResult> {
    const delivered = await sink.deliver({ orgId, id }, outgoing);
    options.onPublished?.(source, schemas.catalogType(type) ?? type, !delivered);
    return { id, topics: outgoing.map((o) => o.envelope.topic), duplicate: !delivered };
  }

  /**
   * The dead-letter stream type of a type the hub knows (has a schema and a route for): its catalog
   * type (`notification.created` for `.v1` too), `{family}.any` for every member of a family
   * (`roster.any`); `undefined` otherwise. So input cannot name streams: their number is bounded by
   * the catalog (per org).
   */
  function streamType(type: string | undefined): string | undefined {
    if (type === undefined || router.find(type) === undefined) return undefined;
    const catalog = schemas.catalogType(type);
    return catalog?.endsWith(".*") ? `${catalog.slice(0, -2)}.any` : catalog;
  }

  /** Names the input's org and type on the error, for the caller's logs, and dead-letters the input. */
  async function reject(input: unknown, error: PublishError, context: PublishContext): Promise<void> {
    const text = context.raw && typeof input === "string";
    // Text over the limit is not parsed again just to find its org.
    const head = readHead(text ? (error.code === "payload_too_large" ? undefined : safeParse(input)) : input);
    error.orgId ??= head.orgId;
    error.eventType ??= head.type;
    if (context.deadLetter === false) return;
    const rawText = text ? input : safeStringify(input);
    try {
      const recorded = await deadLetters.append(
        {
          // Unknown types share `_unknown`: input must not be able to create streams without bound.
          stream: deadLetterStreamName(head.orgId, streamType(head.type)),
          source: context.source,
          code: error.code,
          message: error.message,
          issues: error.issues,
          orgId: head.orgId,
          type: head.type,
          channel: context.channel,
          ...capRaw(scrubRaw(rawText, head, schemas)),
          receivedAt: now(),
        },
        context.fingerprint,
      );
      if (recorded) options.onDeadLettered?.(context.source, error.code, recorded.overflow);
    } catch (failure) {
      options.onDeadLetterError?.(failure, { source: context.source, code: error.code, orgId: head.orgId, type: head.type });
    }
  }

  return {
    async publish(input, context) {
      let prepared: Prepared;
      try {
        prepared = prepare(input, context);
      } catch (error) {
        if (error instanceof PublishError) await reject(input, error, context);
        throw error;
      }
      return deliver(prepared, context.source);
    },

    async publishMany(inputs, context) {
      const prepared: Prepared[] = [];
      const failures: Array<[unknown, PublishError]> = [];
      const issues: string[] = [];
      inputs.forEach((input, index) => {
        try {
          prepared.push(prepare(input, context));
        } catch (error) {
          if (!(error instanceof PublishError)) throw error;
          failures.push([input, error]);
          for (const issue of error.issues.length > 0 ? error.issues : [error.message]) issues.push(`events.${index}.${issue}`);
        }
      });
      if (failures.length > 0) {
        await Promise.all(failures.map(([input, error]) => reject(input, error, context)));
        const error = new PublishError("invalid_event", "some events of the batch are invalid; none was published", issues);
        // For logs, the first bad event's.
        error.orgId = failures[0]?.[1].orgId;
        error.eventType = failures[0]?.[1].eventType;
        throw error;
      }
      return Promise.all(prepared.map((p) => deliver(p, context.source)));
    },

    reject,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new PublishError("invalid_json", "input is not valid JSON");
  }
}

/** What the dead-letter queue keeps as `raw` for input `JSON.stringify` cannot write (a cycle, too deep for the stack, a BigInt). */
export const UNSERIALIZABLE_RAW = "(input not serializable as JSON)";

function safeStringify(value: unknown): string {
  try {
    // `String` too can throw (an object without prototype), hence both inside.
    return JSON.stringify(value) ?? String(value);
  } catch {
    return UNSERIALIZABLE_RAW;
  }
}

/** Whether text takes more than `maxBytes` in UTF-8 (each UTF-16 unit is 1 to 3 bytes). */
function tooLong(text: string, maxBytes: number): boolean {
  return text.length > maxBytes || (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes);
}

function tooLarge(maxBytes: number): PublishError {
  return new PublishError("payload_too_large", `event is larger than ${maxBytes} bytes of JSON`);
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The org and type of an input, when readable, to file it under the right stream. */
function readHead(raw: unknown): { orgId: string | undefined; type: string | undefined; raw: unknown } {
  if (typeof raw !== "object" || raw === null) return { orgId: undefined, type: undefined, raw: undefined };
  const { org_id, type } = raw as Record<string, unknown>;
  const orgId = typeof org_id === "number" || typeof org_id === "string" ? String(org_id) : undefined;
  const validOrg = orgId !== undefined && /^[A-Za-z0-9_.-]{1,128}$/.test(orgId) ? orgId : undefined;
  const validType = typeof type === "string" && /^[a-z][a-z0-9_.]{0,127}$/.test(type) ? type : undefined;
  return { orgId: validOrg, type: validType, raw };
}

/** Drops fields the type's schema marks sensitive from the text kept in the dead-letter queue. */
function scrubRaw(text: string, head: ReturnType<typeof readHead>, schemas: SchemaRegistry): string {
  if (head.type === undefined || typeof head.raw !== "object" || head.raw === null) return text;
  const payload = (head.raw as { payload?: unknown }).payload;
  if (typeof payload !== "object" || payload === null) return text;
  const scrubbed = schemas.scrub({ type: head.type, payload } as NormalizedEvent);
  return scrubbed === payload ? text : safeStringify({ ...(head.raw as object), payload: scrubbed });
}
