--[[
  Delivers an event to one topic at most once per (topic, id) within the dedupe window: claims the
  id on the topic and, only when it was free, appends the event to the topic's history (when it
  keeps one) and publishes the broadcast. Claim, offset and broadcast are one step, and every key
  and the channel share the topic's hash tag (one Redis Cluster slot), so:
  - a producer that dies midway cannot leave an id claimed but undelivered on a topic;
  - of several gateways that ingest the same event exactly one delivers it, and a duplicate id
    never gets a second offset;
  - offsets follow the order in which clients receive the topic's events, whoever published them.
  An event for several topics is one call per topic: a producer that dies between them and retries
  delivers the rest once and nothing twice.

  KEYS[1]  dedupe key of (topic, org, event id)
  KEYS[2]  the topic's history stream
  KEYS[3]  the topic's history meta hash (`epoch`, `top`)
  ARGV[1]  dedupe window, milliseconds
  ARGV[2]  3 characters that end a new epoch (the caller's salt)
  ARGV[3]  "1": SPUBLISH (sharded pub/sub), "0": PUBLISH
  ARGV[4]  channel
  ARGV[5]  message (@socket.io/redis-adapter wire format)
  ARGV[6]  the 1-based position of the offset placeholder in the message (0: no history)
  ARGV[7]  history size
  ARGV[8]  history TTL, ms
  The message holds the envelope's `offset` and `epoch` as placeholders, written here (see
  includes/appendHistory.lua).

  Returns 1 when delivered, 0 when the id was seen on the topic within the window (nothing published).
]]
if not redis.call("SET", KEYS[1], "1", "NX", "PX", ARGV[1]) then
  return 0
end

--@include "appendHistory"
--@include "publishTo"
local message, at = ARGV[5], tonumber(ARGV[6])
if at > 0 then
  message = appendHistory(KEYS[2], KEYS[3], message, at, ARGV[2], ARGV[7], tonumber(ARGV[8]))
end
publishTo(ARGV[3], ARGV[4], message)
return 1
