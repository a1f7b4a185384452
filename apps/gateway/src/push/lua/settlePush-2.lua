--[[
  Ends an attempt of a push: removes it (sent, skipped or given up), or schedules its next attempt
  with its failures counted, unless it is gone (another dispatcher settled it).

  KEYS[1]  the bucket's due set: entry id -> next attempt (epoch ms)
  KEYS[2]  the bucket's entries hash: entry id -> pending push (JSON)
  ARGV[1]  entry id
  ARGV[2]  delay of the next attempt, ms; negative: remove the push
  ARGV[3]  the pending push with its failures counted (JSON), when retried

  Returns 1 when applied, 0 when the push was gone.
]]
--@include "redisTime"
local delay = tonumber(ARGV[2])
if delay < 0 then
  redis.call("HDEL", KEYS[2], ARGV[1])
  return redis.call("ZREM", KEYS[1], ARGV[1])
end
if not redis.call("ZSCORE", KEYS[1], ARGV[1]) then return 0 end
local _, _, now = redisTime()
redis.call("ZADD", KEYS[1], now + delay, ARGV[1])
redis.call("HSET", KEYS[2], ARGV[1], ARGV[3])
return 1
