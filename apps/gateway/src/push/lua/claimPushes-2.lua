--[[
  Claims a bucket's due pushes: moves each one's next attempt a lease ahead, so no other dispatcher
  takes it while this one sends it; if this one dies, it is due again when the lease ends.

  KEYS[1]  the bucket's due set: entry id -> next attempt (epoch ms)
  KEYS[2]  the bucket's entries hash: entry id -> pending push (JSON)
  ARGV[1]  lease, ms
  ARGV[2]  how many to claim at most

  Returns a flat array: entry id, pending push (JSON), entry id, ...
]]
--@include "redisTime"
local _, _, now = redisTime()
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, tonumber(ARGV[2]))
local claimed = {}
for _, id in ipairs(ids) do
  local entry = redis.call("HGET", KEYS[2], id)
  if entry then
    redis.call("ZADD", KEYS[1], now + tonumber(ARGV[1]), id)
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = entry
  else
    redis.call("ZREM", KEYS[1], id)
  end
end
return claimed
