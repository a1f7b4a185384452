--[[
  Claims a registration for removal: from here on its heartbeats are refused (heartbeat-1.lua answers
  lost) and its node registers a new incarnation, while the claimant removes the entries of this one
  topic by topic (seal-2.lua, removeTopic-5.lua) and finally the registration itself. A claim older
  than the TTL may be taken over: removal is safe to repeat, so a sweeper that died midway leaves
  nothing behind.

  KEYS[1]   sorted set of the registrations holding presence
  ARGV[1]   the registration, `{node id}\n{incarnation}`
  ARGV[2]   how old its heartbeat (or claim) must be, ms; 0 claims it whatever its heartbeat

  Returns 1 when claimed, 0 when it was left alone (alive again, claimed by another sweeper within
  the TTL, or already removed).
]]
--@include "redisTime"
local score = redis.call("ZSCORE", KEYS[1], ARGV[1])
if not score then
  return 0
end
local _, _, now = redisTime()
local maxAge = tonumber(ARGV[2])
score = tonumber(score)
-- A heartbeat's score is its time; a claim's is minus its time.
if maxAge > 0 and math.abs(score) >= now - maxAge then
  return 0
end
redis.call("ZADD", KEYS[1], -now, ARGV[1])
return 1
