/**
 * Which call each user is on, cluster-wide: what `call:initiate` checks for busy. A line names a
 * call id; whether that call still holds the user is the call's state to say, so a line left behind
 * by a call that ended (or a process that died) is free without anyone clearing it.
 */
export interface CallLines {
  /** The call id on the user's line, if any. */
  read(orgId: string, userId: string): Promise<string | null>;
  /**
   * Puts `callId` on the user's line if it still holds `expected` (null: nothing): false when
   * another call took it meanwhile.
   */
  claim(orgId: string, userId: string, expected: string | null, callId: string): Promise<boolean>;
}

/** How long a line is kept: it only needs to outlive its call; a live call's line is claimed again by nothing else. */
export const LINE_TTL_MS = 24 * 60 * 60 * 1000;
