/**
 * A fake backend for local runs of the reconciler: answers `GET /internal/inhouse_queues/active`
 * with the queues of a JSON file (read again on every request, so edit it while it runs).
 *
 *   pnpm fake-backend [queues.json]   (or: pnpm --filter @hub/queue-worker fake-backend [queues.json])
 *
 * PORT (default 3999), HOST (default 127.0.0.1); with INTERNAL_JWT_SECRET set, requests without a
 * service token signed with it are answered 401, as the real backend would. The file holds either
 * `{ "queues": [...] }` or the array itself; without a file the answer is `{ "queues": [] }`.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { startFakeBackend } from "@hub/devkit";

const file = process.argv[2] === undefined ? undefined : resolve(process.env.INIT_CWD ?? process.cwd(), process.argv[2]);
let lastGood: unknown[] = [];
/** The file's queues; while it does not parse (half saved), the last list that did, with a line on stderr. */
const load = (): unknown[] => {
  if (!file) return [];
  try {
    const body = JSON.parse(readFileSync(file, "utf8")) as unknown;
    lastGood = Array.isArray(body) ? body : ((body as { queues?: unknown[] }).queues ?? []);
  } catch (error) {
    process.stderr.write(`fake backend: cannot read ${file} (${(error as Error).message}); serving the last list that parsed\n`);
  }
  return lastGood;
};

const port = Number(process.env.PORT ?? 3999);
const secret = process.env.INTERNAL_JWT_SECRET || undefined;
const backend = await startFakeBackend(load(), { port, host: process.env.HOST ?? "127.0.0.1", ...(secret ? { secret } : {}) });
// Re-read the file per request: the queues are a getter over it.
Object.defineProperty(backend, "queues", { get: load });
process.stdout.write(
  `fake backend on ${backend.url}/internal/inhouse_queues/active (${file ? `queues from ${file}` : "no queues"}; ` +
    `${secret ? "service token checked" : "no token check: set INTERNAL_JWT_SECRET to check it"})\n` +
    `run the worker with BACKEND_API_URL=${backend.url}\n`,
);
const stop = () => void backend.close().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
