import { createRequire } from "node:module";

/** The gateway package's version, reported by `/health`. */
export const VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;
