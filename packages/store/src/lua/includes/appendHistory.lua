-- Appends a broadcast to its topic's history and gives it the topic's next offset. `message` holds
-- the envelope's `offset` as a float64 placeholder at the 1-based position `at` and right after it
-- `epoch` as a 16-byte placeholder string; both are written here. Each entry keeps Redis's time
-- (`t`, ms), so the TTL window has one clock. The topic's epoch and counter outlive its entries by
-- 24 hours. A topic without an epoch (new, or its history was lost) gets a new one, ending with
-- `salt`. Returns the message as written, the offset and the epoch.
--@include "redisTime"
--@include "placeOffset"
local function appendHistory(stream, meta, message, at, salt, size, ttl)
  local GRACE_MS = 86400000
  local seconds, micros, nowMs = redisTime()
  local epoch = redis.call("HGET", meta, "epoch")
  if not epoch then
    -- No epoch: the history is new or was lost. Whatever the stream holds belongs to no epoch.
    epoch = string.format("%08x%05x", seconds, micros) .. salt
    redis.call("DEL", stream)
    redis.call("HSET", meta, "epoch", epoch, "top", 0)
  end
  local offset = redis.call("HINCRBY", meta, "top", 1)
  message = placeOffset(message, at, offset, epoch)
  redis.call("XADD", stream, "MAXLEN", size, offset .. "-0", "m", message, "t", nowMs)
  redis.call("PEXPIRE", stream, ttl)
  redis.call("PEXPIRE", meta, ttl + GRACE_MS)
  return message, offset, epoch
end
