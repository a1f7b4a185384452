--[[
  Delivers events to topics of one slot, each at most once per (topic, id) within the dedupe window:
  for each delivery in order, claims the id on its topic and, only when it was free, appends the
  event to the topic's history (when it keeps one) and publishes the broadcast. One call carries
  the deliveries a producer had in flight on the topics of one hash tag (one Redis Cluster slot):
  its keys and channels share that tag, so:
  - a producer that dies midway cannot leave an id claimed but undelivered on a topic;
  - of several gateways that ingest the same event exactly one delivers it, and a duplicate id
    never gets a second offset (a second delivery of an id in the same call is a duplicate too);
  - offsets follow the order in which clients receive the topic's events, whoever published them.
  An event for several topics is one delivery per topic: a producer that dies between them and
  retries delivers the rest once and nothing twice.

  Each delivery costs a SET, an XADD and a PUBLISH; the clock, each topic's epoch and top offset are
  read once per call, and the top offset and the TTLs written once per topic.

  The caller passes the number of keys first. With T topics and N deliveries:
  KEYS[2t-1], KEYS[2t]  topic t's history stream and meta hash (`epoch`, `top`), t = 1..T
  KEYS[2T+i]            delivery i's dedupe key of (topic, org, event id), i = 1..N
  ARGV[1]  dedupe window, milliseconds
  ARGV[2]  3 characters that end a new epoch (the caller's salt)
  ARGV[3]  "1": SPUBLISH (sharded pub/sub), "0": PUBLISH
  ARGV[4]  T
  then per topic t: its channel, history size, history TTL ms
  then per delivery i: its topic t, its message (@socket.io/redis-adapter wire format), the 1-based
  position of the offset placeholder in the message (0: no history)
  The message holds the envelope's `offset` and `epoch` as placeholders, written here.

  Returns one outcome per delivery, in order: 1 delivered, 0 the id was seen on the topic within
  the window (nothing published), or an error reply for a delivery that failed after its claim
  (a key of the wrong type), the others of the call unaffected.
]]
--@include "redisTime"
--@include "placeOffset"
--@include "publishTo"
local GRACE_MS = 86400000
local windowMs, salt, sharded, topicCount = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local first = 5 + 3 * topicCount
local seconds, micros, nowMs = redisTime()
-- As text once: Redis would format the number again for each XADD.
local now = tostring(nowMs)
-- Per topic index, once the call appended to its history: its epoch and top offset.
local epochs, tops = {}, {}
local outcomes = {}
-- Appends delivery i's broadcast to topic t's history when it keeps one, and publishes it.
local function deliver(t, message, offsetAt)
  local channelAt = 5 + 3 * (t - 1)
  if offsetAt > 0 then
    local stream, meta = KEYS[2 * t - 1], KEYS[2 * t]
    if not epochs[t] then
      local head = redis.call("HMGET", meta, "epoch", "top")
      if head[1] then
        epochs[t], tops[t] = head[1], tonumber(head[2]) or 0
      else
        -- No epoch: the history is new or was lost. Whatever the stream holds belongs to no epoch.
        redis.call("DEL", stream)
        epochs[t], tops[t] = string.format("%08x%05x", seconds, micros) .. salt, 0
      end
    end
    local offset = tops[t] + 1
    message = placeOffset(message, offsetAt, offset, epochs[t])
    redis.call("XADD", stream, "MAXLEN", ARGV[channelAt + 1], offset .. "-0", "m", message, "t", now)
    tops[t] = offset
  end
  publishTo(sharded, ARGV[channelAt], message)
end
for i = 1, (#ARGV - first + 1) / 3 do
  local at = first + 3 * (i - 1)
  if redis.call("SET", KEYS[2 * topicCount + i], "1", "NX", "PX", windowMs) then
    -- A failure (a key of the wrong type) is this delivery's alone: the others of the call go on.
    local ok, failure = pcall(deliver, tonumber(ARGV[at]), ARGV[at + 1], tonumber(ARGV[at + 2]))
    if ok then
      outcomes[i] = 1
    else
      outcomes[i] = redis.error_reply(type(failure) == "table" and failure.err or tostring(failure))
    end
  else
    outcomes[i] = 0
  end
end
for t, epoch in pairs(epochs) do
  local stream, meta, ttl = KEYS[2 * t - 1], KEYS[2 * t], tonumber(ARGV[5 + 3 * (t - 1) + 2])
  redis.call("HSET", meta, "epoch", epoch, "top", tops[t])
  redis.call("PEXPIRE", stream, ttl)
  redis.call("PEXPIRE", meta, ttl + GRACE_MS)
end
return outcomes
