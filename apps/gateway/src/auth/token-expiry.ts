import type { HubSocket } from "../protocol/hub-socket.js";

// setTimeout fires at once past 2^31-1 ms; longer waits are re-armed in steps.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * (Re)arms the socket's expiry timer from its principal's `exp`. When it fires the client gets
 * `auth.expired` and is disconnected. The timer belongs to the socket: cleared on disconnect.
 */
export function armTokenExpiry(socket: HubSocket, now: () => number = Date.now): void {
  clearTokenExpiry(socket);
  const expiresAtMs = socket.data.principal.exp * 1000;
  const delay = expiresAtMs - now();
  socket.data.expiryTimer = setTimeout(
    () => {
      if (now() < expiresAtMs) return armTokenExpiry(socket, now);
      socket.data.expiryTimer = undefined;
      socket.emit("auth.expired", { exp: socket.data.principal.exp });
      socket.disconnect(true);
    },
    Math.max(0, Math.min(delay, MAX_TIMER_MS)),
  );
}

export function clearTokenExpiry(socket: HubSocket): void {
  if (socket.data.expiryTimer !== undefined) clearTimeout(socket.data.expiryTimer);
  socket.data.expiryTimer = undefined;
}
