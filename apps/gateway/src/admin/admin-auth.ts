import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createRequire } from "node:module";
import type { AdminUiSettings } from "@hub/runtime";
import type { Logger } from "pino";
import type { ExtendedError, Socket } from "socket.io";
import { TokenBucket } from "../protocol/token-bucket.js";

/** Credential checks (bcrypt comparisons) one node does per second at most; the rest are refused. */
const LOGINS_PER_SECOND = 2;
/** How long a signed-in UI may reconnect with its session id instead of the password. */
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 1_000;

interface Bcrypt {
  compare(password: string, hash: string): Promise<boolean>;
  hash(password: string, rounds: number): Promise<string>;
}

/** The bcrypt admin-ui ships with (its own `bcryptjs` dependency), so hashes made here are the ones it would take. */
export function adminBcrypt(): Bcrypt {
  return createRequire(import.meta.resolve("@socket.io/admin-ui"))("bcryptjs") as Bcrypt;
}

/**
 * The `/admin` namespace's middleware: the hub checks the admin credentials itself, and admin-ui
 * runs with its own check off. (admin-ui hands a missing password to bcrypt, which rejects, and
 * nobody handles that rejection: one packet ended the process.)
 *
 * - A handshake is let in by a session id this node issued (still valid), or by `username` and
 *   `password` strings; anything else is refused at once, without a comparison.
 * - Every credential attempt costs the same whichever the username: one bcrypt comparison, and the
 *   username compared in constant time, both always run; and every attempt is charged to the same
 *   per-node budget. Neither the time of an answer nor the limiter tells a right username from a
 *   wrong one.
 * - A success sends `session` (a random 128-bit id), as admin-ui's own check does, before `connect`.
 */
export function adminAuthentication(settings: AdminUiSettings, logger: Logger) {
  const bcrypt = adminBcrypt();
  const sessions = new ExpiringSessions(SESSION_TTL_MS, MAX_SESSIONS);
  const logins = new TokenBucket(LOGINS_PER_SECOND);
  const expectedUser = digest(settings.username);
  const refuse = (next: (err?: ExtendedError) => void, message: string): void => {
    next(new Error(message));
  };

  return (socket: Socket, next: (err?: ExtendedError) => void): void => {
    const auth = socket.handshake.auth as { username?: unknown; password?: unknown; sessionId?: unknown } | undefined;
    if (typeof auth?.sessionId === "string" && sessions.has(auth.sessionId)) {
      next();
      return;
    }
    if (typeof auth?.username !== "string" || typeof auth.password !== "string") {
      refuse(next, "invalid credentials");
      return;
    }
    if (!logins.take()) {
      refuse(next, "too many attempts");
      return;
    }
    const userMatches = timingSafeEqual(digest(auth.username), expectedUser);
    bcrypt.compare(auth.password, settings.passwordHash).then(
      (passwordMatches) => {
        if (!(userMatches && passwordMatches)) {
          refuse(next, "invalid credentials");
          return;
        }
        const sessionId = randomBytes(16).toString("hex");
        sessions.save(sessionId);
        socket.emit("session", sessionId);
        next();
      },
      (error: unknown) => {
        logger.error({ err: error }, "admin password check failed");
        refuse(next, "invalid credentials");
      },
    );
  };
}

/** A fixed-length view of any string, so comparing two takes the same time whatever their lengths. */
function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Session ids this node issued, each valid for `ttlMs`; at most `max` (the oldest goes first). */
class ExpiringSessions {
  readonly #expiries = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  has(sessionId: string): boolean {
    const expiry = this.#expiries.get(sessionId);
    if (expiry === undefined) return false;
    if (expiry > Date.now()) return true;
    this.#expiries.delete(sessionId);
    return false;
  }

  save(sessionId: string): void {
    const now = Date.now();
    for (const [id, expiry] of this.#expiries) if (expiry <= now) this.#expiries.delete(id);
    // Map order is insertion order: the first is the oldest.
    const oldest = this.#expiries.keys().next();
    if (this.#expiries.size >= this.max && !oldest.done) this.#expiries.delete(oldest.value);
    this.#expiries.set(sessionId, now + this.ttlMs);
  }
}
