import { type TSchema, Type } from "@sinclair/typebox";
import { PublishError } from "../hub-error.js";
import type { NormalizedEvent } from "../producer-event.js";
import { ProducerEnvelopeSchema } from "../producer-event.js";
import { EVENT_SCHEMAS, type EventSchemaSpec } from "./catalog.js";
import { type CompiledCheck, compile } from "./compile.js";

/** One catalog entry, compiled, with the paths of its sensitive fields. */
interface CompiledSchema {
  spec: EventSchemaSpec;
  payload: CompiledCheck;
  sensitive: readonly (readonly string[])[];
}

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
  readonly #sensitiveByBase = new Map<string, string[][]>();

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
          ? Type.String({ pattern: `^${spec.type.slice(0, -2).replaceAll(".", "\\.")}\\.[a-z][a-z0-9_.]*$` })
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

/** Paths of properties marked `x-sensitive`, through nested objects. */
function sensitivePaths(schema: TSchema, prefix: readonly string[] = []): string[][] {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  return Object.entries(properties).flatMap(([key, child]) =>
    (child as { "x-sensitive"?: boolean })["x-sensitive"] ? [[...prefix, key]] : sensitivePaths(child, [...prefix, key]),
  );
}

/** A copy of `value` without the property at `path`; copies only the objects along the path. */
function without(value: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  const [head, ...rest] = path as [string, ...string[]];
  if (!Object.hasOwn(value, head)) return value;
  const copy = { ...value };
  if (rest.length === 0) {
    delete copy[head];
    return copy;
  }
  const child = value[head];
  if (typeof child !== "object" || child === null || Array.isArray(child)) return value;
  copy[head] = without(child as Record<string, unknown>, rest);
  return copy;
}

/** TypeBox's internal symbols do not belong in exported files. */
function strip(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
