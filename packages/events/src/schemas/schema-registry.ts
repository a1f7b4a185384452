import { type TSchema, Type } from "@sinclair/typebox";
import { PublishError } from "../hub-error.js";
import type { NormalizedEvent } from "../producer-event.js";
import { eventFamilyPattern, MAX_EVENT_TYPE_LENGTH, ProducerEnvelopeSchema } from "../producer-event.js";
import { EVENT_SCHEMAS, type EventSchemaSpec } from "./catalog.js";
import { type CompiledCheck, compile } from "./compile.js";

/** One catalog entry, compiled, with the paths of its sensitive fields. */
interface CompiledSchema {
  spec: EventSchemaSpec;
  payload: CompiledCheck;
  sensitive: readonly SensitivePath[];
}

/** A path segment standing for every element of an array. */
const EACH = Symbol("each element");
type SensitivePath = ReadonlyArray<string | typeof EACH>;

const VERSIONED = /^(.*)\.v([0-9]+)$/;

/** Splits `ticket.sold.v2` into its base type and version (no suffix is version 1). */
export function typeVersion(type: string): { base: string; version: number } {
  const match = VERSIONED.exec(type);
  return match ? { base: match[1] as string, version: Number(match[2]) } : { base: type, version: 1 };
}

/**
 * Validates payloads against the versioned schema of their type and removes sensitive fields.
 *
 * @example
 * const schemas = new SchemaRegistry();
 * schemas.validate(event);               // throws PublishError("unknown_type" | "invalid_event")
 * const safe = schemas.scrub(event);     // the payload without fields marked sensitive
 */
export class SchemaRegistry {
  readonly #exact = new Map<string, CompiledSchema>();
  readonly #families: Array<[prefix: string, schema: CompiledSchema]> = [];
  /** Sensitive paths of every version of a base type: scrubbing must not depend on a valid version. */
  readonly #sensitiveByBase = new Map<string, SensitivePath[]>();

  /**
   * @throws TypeError when a schema marks something sensitive where scrubbing cannot reach it:
   * anything but a property of an object, reached through properties and array `items` (not inside
   * a union, a tuple, `additionalProperties`, ...). Mark the property holding the union instead.
   */

  constructor(specs: readonly EventSchemaSpec[] = EVENT_SCHEMAS) {
    for (const spec of specs) {
      const compiled = { spec, payload: compile(spec.payload), sensitive: sensitivePaths(spec.payload) };
      if (spec.type.endsWith(".*")) this.#families.push([spec.type.slice(0, -1), compiled]);
      else this.#exact.set(`${spec.type}@${spec.version ?? 1}`, compiled);
      if (!spec.type.endsWith(".*"))
        this.#sensitiveByBase.set(spec.type, [...(this.#sensitiveByBase.get(spec.type) ?? []), ...compiled.sensitive]);
    }
  }

  /** Throws `unknown_type` for a type (or version) without schema, `invalid_event` for a bad payload. */
  validate(event: Pick<NormalizedEvent, "type" | "payload">): void {
    const schema = this.#find(event.type);
    if (!schema) {
      const { base, version } = typeVersion(event.type);
      const known = [...this.#exact.keys()].some((key) => key.startsWith(`${base}@`));
      throw new PublishError("unknown_type", known ? `${base} has no version ${version}` : `unknown event type ${event.type}`);
    }
    if (!schema.payload.check(event.payload)) {
      throw new PublishError(
        "invalid_event",
        `payload does not match the schema of ${event.type}`,
        schema.payload.issues(event.payload, "payload."),
      );
    }
  }

  /**
   * The catalog entry a type validates against, as a bounded name for metric labels: the type with
   * its version (`tournament_match.confirmed.v2`; no suffix for version 1) or the family
   * (`player.*` for `player.transferred`); undefined for an unknown type.
   */
  catalogType(type: string): string | undefined {
    const { base, version } = typeVersion(type);
    if (this.#exact.has(`${base}@${version}`)) return version === 1 ? base : `${base}.v${version}`;
    return this.#families.find(([prefix]) => type.startsWith(prefix))?.[1].spec.type;
  }

  /**
   * The payload without the fields any version of its type marks sensitive (also for a version
   * that does not exist); the same object when it has none.
   */
  scrub(event: Pick<NormalizedEvent, "type" | "payload">): Record<string, unknown> {
    const paths = this.#sensitiveByBase.get(typeVersion(event.type).base) ?? this.#find(event.type)?.sensitive ?? [];
    let payload = event.payload;
    for (const path of paths) payload = without(payload, path);
    return payload;
  }

  /** JSON Schema of the whole producer event of every type and version, for non-TypeScript producers. */
  jsonSchemas(): Array<{ name: string; schema: Record<string, unknown> }> {
    const all = [...this.#exact.values(), ...this.#families.map(([, s]) => s)];
    return all
      .map(({ spec }) => {
        const version = spec.version ?? 1;
        const family = spec.type.endsWith(".*");
        const name = family ? spec.type.replace(".*", ".any") : `${spec.type}.v${version}`;
        const typeSchema = family
          ? // The hub's own rule (EVENT_TYPE and its length limit), so a file accepts what the hub does.
            Type.String({ maxLength: MAX_EVENT_TYPE_LENGTH, pattern: eventFamilyPattern(spec.type) })
          : Type.String({ enum: version === 1 ? [spec.type, `${spec.type}.v1`] : [`${spec.type}.v${version}`] });
        const schema = Type.Composite(
          [Type.Omit(ProducerEnvelopeSchema, ["type", "payload"]), Type.Object({ type: typeSchema, payload: spec.payload })],
          {
            additionalProperties: true,
          },
        );
        return {
          name,
          schema: {
            $schema: "http://json-schema.org/draft-07/schema#",
            $id: `${name}.json`,
            title: name,
            description: spec.description,
            ...strip(schema),
          },
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  #find(type: string): CompiledSchema | undefined {
    const { base, version } = typeVersion(type);
    const exact = this.#exact.get(`${base}@${version}`);
    if (exact) return exact;
    for (const [prefix, schema] of this.#families) if (type.startsWith(prefix)) return schema;
    return undefined;
  }
}

type SchemaNode = Record<string, unknown>;

const isSensitive = (schema: unknown): boolean => (schema as { "x-sensitive"?: unknown } | null)?.["x-sensitive"] === true;

/**
 * Paths of properties marked `x-sensitive`, through nested objects and the items of arrays. Throws
 * for a mark anywhere else, which scrubbing could not honour.
 */
function sensitivePaths(schema: TSchema, prefix: SensitivePath = []): SensitivePath[] {
  const node = schema as SchemaNode;
  if (prefix.length === 0 && isSensitive(node))
    throw new TypeError("x-sensitive on a whole payload cannot be scrubbed: mark its properties");
  const paths: SensitivePath[] = [];
  for (const [keyword, value] of Object.entries(node)) {
    if (keyword === "properties" && typeof value === "object" && value !== null) {
      for (const [key, child] of Object.entries(value as Record<string, TSchema>)) {
        if (isSensitive(child)) paths.push([...prefix, key]);
        else paths.push(...sensitivePaths(child, [...prefix, key]));
      }
    } else if (keyword === "items" && typeof value === "object" && value !== null && !Array.isArray(value) && !isSensitive(value)) {
      paths.push(...sensitivePaths(value as TSchema, [...prefix, EACH]));
    } else if (typeof value === "object" && value !== null && containsSensitive(value)) {
      const at = prefix.map((p) => (p === EACH ? "[]" : p)).join(".") || "payload";
      throw new TypeError(
        `x-sensitive under "${keyword}" at ${at} cannot be scrubbed: mark an object property (or a property of array items) instead`,
      );
    }
  }
  return paths;
}

function containsSensitive(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (isSensitive(value)) return true;
  return Object.values(value).some(containsSensitive);
}

/** A copy of `value` without what `path` names; copies only the objects and arrays along the path. */
function without(value: Record<string, unknown>, path: SensitivePath): Record<string, unknown> {
  const [head, ...rest] = path as [string, ...SensitivePath];
  if (!Object.hasOwn(value, head)) return value;
  if (rest.length === 0) {
    const copy = { ...value };
    delete copy[head];
    return copy;
  }
  const child = scrubbed(value[head], rest);
  return child === value[head] ? value : { ...value, [head]: child };
}

function scrubbed(value: unknown, path: SensitivePath): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (path[0] !== EACH) return Array.isArray(value) ? value : without(value as Record<string, unknown>, path);
  if (!Array.isArray(value)) return value;
  const rest = path.slice(1);
  let changed = false;
  const items = value.map((item: unknown) => {
    const next = rest.length === 0 ? item : scrubbed(item, rest);
    changed ||= next !== item;
    return next;
  });
  return changed ? items : value;
}

/** TypeBox's internal symbols do not belong in exported files. */
function strip(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
