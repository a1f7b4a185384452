--[[
  Queues a push once: unless its entry id (event id and user) was offered within its lifetime, marks
  it offered, keeps it and makes it due now.

  KEYS[1]  the entry's dedupe mark (push-seen)
  KEYS[2]  the bucket's due set: entry id -> next attempt (epoch ms)
  KEYS[3]  the bucket's entries hash: entry id -> pending push (JSON)
  ARGV[1]  entry id
  ARGV[2]  pending push (JSON)
  ARGV[3]  how long the mark is kept, ms (PUSH_MAX_AGE_MS)

  Returns 1 when queued, 0 for a duplicate.
]]
--@include "redisTime"
if not redis.call("SET", KEYS[1], "1", "NX", "PX", ARGV[3]) then return 0 end
local _, _, now = redisTime()
redis.call("HSET", KEYS[3], ARGV[1], ARGV[2])
redis.call("ZADD", KEYS[2], now, ARGV[1])
return 1
