--[[
  Delivers an event at most once per id within the dedupe window: claims the id and, only when it
  was free, appends the event to the history of each of its topics that keeps one and publishes
  every broadcast. Claim, offsets and broadcast are one step, so:
  - a producer that dies midway cannot leave an id claimed but undelivered;
  - of several gateways that ingest the same event exactly one delivers it, and a duplicate id
    never gets a second offset;
  - offsets follow the order in which clients receive the events, whoever published them.

  KEYS[1]          dedupe key of the event id
  KEYS[2k], [2k+1] stream and meta hash of the k-th delivery that keeps history
  ARGV[1]          dedupe window, milliseconds
  ARGV[2]          3 characters that end a new epoch (the caller's salt)
  ARGV[3..]        per delivery, 5 values: channel, message (@socket.io/redis-adapter wire format),
                   the 1-based position of the offset placeholder in the message (0: no history),
                   history size, history TTL in ms. The message holds the envelope's `offset` as
                   a float64 placeholder and right after it `epoch` as a 16-byte placeholder string;
                   both are written here.
  Each history entry keeps Redis's time (`t`, ms), so the TTL window has one clock. The topic's
  epoch and counter outlive its entries by 24 hours.

  Returns 1 when delivered, 0 when the id was seen within the window (nothing published).
]]
if not redis.call("SET", KEYS[1], "1", "NX", "PX", ARGV[1]) then
  return 0
end

--@include "redisTime"
local GRACE_MS = 86400000
local seconds, micros, nowMs = redisTime()
local key = 2
for i = 3, #ARGV, 5 do
  local channel, message, at = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if at > 0 then
    local stream, meta, ttl = KEYS[key], KEYS[key + 1], tonumber(ARGV[i + 4])
    key = key + 2
    local epoch = redis.call("HGET", meta, "epoch")
    if not epoch then
      -- No epoch: the history is new or was lost. Whatever the stream holds belongs to no epoch.
      epoch = string.format("%08x%05x", seconds, micros) .. ARGV[2]
      redis.call("DEL", stream)
      redis.call("HSET", meta, "epoch", epoch, "top", 0)
    end
    local offset = redis.call("HINCRBY", meta, "top", 1)
    -- float64 offset (8 bytes), then the key "epoch" and a str16 header (7 bytes), then the epoch.
    message = string.sub(message, 1, at - 1) .. struct.pack(">d", offset) .. string.sub(message, at + 8, at + 14) .. epoch ..
      string.sub(message, at + 31)
    redis.call("XADD", stream, "MAXLEN", ARGV[i + 3], offset .. "-0", "m", message, "t", nowMs)
    redis.call("PEXPIRE", stream, ttl)
    redis.call("PEXPIRE", meta, ttl + GRACE_MS)
  end
  redis.call("PUBLISH", channel, message)
end
return 1
