/**
 * Which call each user is on, cluster-wide: what `call:initiate` checks for busy. A line names a
 * call id; whether that call still holds the user is the call's state to say, so a line left behind
 * by a call that ended (or a process that died) is free without anyone clearing it.
 */
export interface CallLines {
  /** The call id on the user's line, if any. */
  read(orgId: string, userId: string): Promise<string | null>;
  /**
   * Puts `line` (a call id, or a pending one: `pendingLine`) on the user's line if it still holds
   * `expected` (null: nothing): false when another call took it meanwhile. Kept `ttlMs`.
   */
  claim(orgId: string, userId: string, expected: string | null, line: string, ttlMs?: number): Promise<boolean>;
}

/** How long a line is kept: it only needs to outlive its call; a live call's line is claimed again by nothing else. */
export const LINE_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * How long a pending line is kept: a call being placed holds its parties' lines before its state
 * exists; a process that dies meanwhile leaves them busy this long at most.
 */
export const PENDING_LINE_TTL_MS = 10_000;

/** The line of a call being placed (its state not committed yet): held, though no call says so yet. */
export function pendingLine(callId: string): string {
  return `${callId} pending`;
}

/** The call id a line names, and whether it is pending. */
export function parseLine(line: string): { callId: string; pending: boolean } {
  const [callId = "", mark] = line.split(" ");
  return { callId, pending: mark === "pending" };
}
