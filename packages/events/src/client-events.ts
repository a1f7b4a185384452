import { Kind, type TSchema, Type } from "@sinclair/typebox";
import { Ajv } from "ajv";
import { compile } from "./schemas/compile.js";

/**
 * How the hub treats a client publication of one event:
 * - `durable`: deduplicated by id, given an offset in the topic's history, broadcast to every
 *   subscriber (the sender's sockets too) and appended to the namespace's client-event stream for
 *   backends, all in one atomic step, before the sender's ack;
 * - `ephemeral`: broadcast to the topic's subscribers except the sender's sockets; no history, no
 *   stream, never queued for anybody (typing indicators).
 */
export type ClientEventKind = "durable" | "ephemeral";

/** One client event a namespace accepts in `publish { topic, event, data }`. */
export interface ClientEventSpec {
  kind: ClientEventKind;
  /** The client event subscribers receive it as (`message:send` is delivered as `message:new`). @default the event's own name */
  deliverAs?: string;
  /** Largest `data` accepted, in bytes of JSON text. @default DEFAULT_CLIENT_EVENT_BYTES (16 KiB) */
  maxBytes?: number;
  /**
   * What `data` must look like (it is always a JSON object): a TypeBox schema, or a JSON Schema
   * object (`HUB_NAMESPACES`). @default any object
   */
  schema?: TSchema | Record<string, unknown>;
}

/** A client event declaration with its defaults applied and its schema compiled. */
export interface ResolvedClientEvent {
  readonly name: string;
  readonly kind: ClientEventKind;
  readonly deliverAs: string;
  readonly maxBytes: number;
  /** What is wrong with `data` (`path: message` lines), empty when it fits the schema. */
  issues(data: unknown): string[];
}

/** Default `maxBytes` of a client event: a chat message with some metadata. */
export const DEFAULT_CLIENT_EVENT_BYTES = 16 * 1024;
/** Largest `maxBytes` a declaration may ask for: a client message is capped by MAX_MESSAGE_BYTES anyway. */
export const MAX_CLIENT_EVENT_BYTES = 1024 * 1024;
/** Client event names: seed 003's style (`message:reaction:add`), dots and underscores too. */
export const CLIENT_EVENT_NAME = /^[a-z][a-z0-9_.:-]{0,63}$/;

const ajv = new Ajv({ allErrors: false, strict: false });

/** JSON Schema keywords that run a regular expression over client input. */
const REGEX_KEYWORDS = new Set(["pattern", "patternProperties"]);

/** The first of `keywords` used anywhere in a schema (a configured one: JSON, so no cycles). */
function findKeyword(schema: unknown, keywords: ReadonlySet<string>): string | undefined {
  if (typeof schema !== "object" || schema === null) return undefined;
  for (const [key, value] of Object.entries(schema)) {
    if (keywords.has(key)) return key;
    const found = findKeyword(value, keywords);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Compiles one declaration; throws `TypeError` naming what is wrong with it. */
export function resolveClientEvent(namespace: string, name: string, spec: ClientEventSpec): ResolvedClientEvent {
  const where = `namespace "${namespace}", client event "${name}"`;
  if (!CLIENT_EVENT_NAME.test(name)) throw new TypeError(`${where}: name must match ${CLIENT_EVENT_NAME}`);
  const deliverAs = spec.deliverAs ?? name;
  if (!CLIENT_EVENT_NAME.test(deliverAs)) throw new TypeError(`${where}: deliverAs must match ${CLIENT_EVENT_NAME}`);
  const maxBytes = spec.maxBytes ?? DEFAULT_CLIENT_EVENT_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 2 || maxBytes > MAX_CLIENT_EVENT_BYTES) {
    throw new TypeError(`${where}: maxBytes must be an integer from 2 to ${MAX_CLIENT_EVENT_BYTES}`);
  }
  if (spec.kind !== "durable" && spec.kind !== "ephemeral") throw new TypeError(`${where}: kind must be durable or ephemeral`);
  return { name, kind: spec.kind, deliverAs, maxBytes, issues: payloadCheck(where, spec.schema) };
}

function payloadCheck(where: string, schema: ClientEventSpec["schema"]): (data: unknown) => string[] {
  if (schema === undefined) return () => [];
  if (Kind in schema) {
    const check = compile(schema as TSchema);
    return (data) => (check.check(data) ? [] : check.issues(data, "data.", 3));
  }
  const regex = findKeyword(schema, REGEX_KEYWORDS);
  if (regex !== undefined) {
    // Ajv runs patterns on V8's backtracking engine: one crafted message could hold the event loop for seconds.
    throw new TypeError(
      `${where}: schema may not use "${regex}" (regular expressions run on every client message); use enum, maxLength or format-free types`,
    );
  }
  let validate: ReturnType<typeof ajv.compile>;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new TypeError(`${where}: schema is not a valid JSON Schema (${(error as Error).message})`);
  }
  return (data) => {
    if (validate(data)) return [];
    return (validate.errors ?? []).slice(0, 3).map((e) => `data${e.instancePath.replaceAll("/", ".")}: ${e.message ?? "is invalid"}`);
  };
}

const MessageId = Type.String({ pattern: "^[A-Za-z0-9_.:-]{1,128}$" });
const Emoji = Type.String({ minLength: 1, maxLength: 64 });
const Attachment = Type.Object({}, { additionalProperties: true, maxProperties: 32 });

/**
 * The data of seed 003's chat events. The message id of `message:send` is its publication's `id`
 * (the client may choose it, for idempotent retries); edits, deletions, reactions and read marks
 * name the message they are about. Unknown properties are refused, so a typo is an error, not a
 * field every client silently ignores.
 */
export const CHAT_SCHEMAS = {
  "message:send": Type.Object(
    {
      text: Type.Optional(Type.String({ maxLength: 8000 })),
      /** `text`, `image`, `file`, ...: what the frontend renders. */
      type: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
      attachments: Type.Optional(Type.Array(Attachment, { maxItems: 10 })),
      reply_to: Type.Optional(MessageId),
      mentions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 50 })),
      metadata: Type.Optional(Type.Object({}, { additionalProperties: true, maxProperties: 32 })),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
  "message:edit": Type.Object(
    { message_id: MessageId, text: Type.String({ maxLength: 8000 }), attachments: Type.Optional(Type.Array(Attachment, { maxItems: 10 })) },
    { additionalProperties: false },
  ),
  "message:delete": Type.Object({ message_id: MessageId }, { additionalProperties: false }),
  "message:reaction": Type.Object({ message_id: MessageId, emoji: Emoji }, { additionalProperties: false }),
  "message:read": Type.Object({ message_id: MessageId }, { additionalProperties: false }),
  typing: Type.Object({}, { additionalProperties: false }),
};

/** The client events of the built-in `chat:{conversation_id}` namespace (seed 003's chat channel). */
export const CHAT_CLIENT_EVENTS: Readonly<Record<string, ClientEventSpec>> = {
  "message:send": { kind: "durable", deliverAs: "message:new", schema: CHAT_SCHEMAS["message:send"] },
  "message:edit": { kind: "durable", deliverAs: "message:edited", schema: CHAT_SCHEMAS["message:edit"] },
  "message:delete": { kind: "durable", deliverAs: "message:deleted", schema: CHAT_SCHEMAS["message:delete"] },
  "message:reaction:add": { kind: "durable", deliverAs: "message:reaction:added", schema: CHAT_SCHEMAS["message:reaction"] },
  "message:reaction:remove": { kind: "durable", deliverAs: "message:reaction:removed", schema: CHAT_SCHEMAS["message:reaction"] },
  "message:read": { kind: "durable", schema: CHAT_SCHEMAS["message:read"] },
  "typing:start": { kind: "ephemeral", maxBytes: 256, schema: CHAT_SCHEMAS.typing },
  "typing:stop": { kind: "ephemeral", maxBytes: 256, schema: CHAT_SCHEMAS.typing },
};
