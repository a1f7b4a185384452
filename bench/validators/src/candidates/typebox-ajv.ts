import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { typebox034Schemas } from "./typebox034.js";
import { type Candidate, OK, type Outcome, payloadPath, pointerToDotted } from "./types.js";

/** A `required` error points at the parent object; report the missing property's own path like the other libraries do. */
export function ajvPath(error: ErrorObject): string {
  const path = pointerToDotted(error.instancePath);
  if (error.keyword !== "required") return path;
  const missing = (error.params as { missingProperty: string }).missingProperty;
  return path === "" ? missing : `${path}.${missing}`;
}

/** TypeBox 0.34 schemas compiled by ajv 8 (`allErrors: false`; no `format` is used, so no ajv-formats). */
export function typeboxAjvCandidate(): Candidate {
  const schemas = typebox034Schemas();
  const ajv = new Ajv({ allErrors: false });
  const envelope = ajv.compile(schemas.envelope);
  const payloads = new Map<string, ValidateFunction>(Object.entries(schemas.payloads).map(([k, s]) => [k, ajv.compile(s)]));

  const firstError = (validate: ValidateFunction, inPayload: boolean): Outcome => {
    const error = (validate.errors as ErrorObject[])[0] as ErrorObject;
    const path = ajvPath(error);
    return { ok: false, path: inPayload ? payloadPath(path) : path, message: error.message ?? error.keyword };
  };

  return {
    name: "TypeBox 0.34 + ajv 8",
    via: "@sinclair/typebox Type.* + ajv compile",
    validate(input) {
      if (!envelope(input)) return firstError(envelope, false);
      const { type, payload } = input;
      const validatePayload = payloads.get(type);
      if (validatePayload === undefined || validatePayload(payload)) return OK;
      return firstError(validatePayload, true);
    },
    check(input) {
      if (!envelope(input)) return false;
      const validatePayload = payloads.get(input.type);
      return validatePayload === undefined || validatePayload(input.payload);
    },
  };
}
