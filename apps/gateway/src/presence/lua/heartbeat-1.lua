--[[
  Marks one registration of this node alive with Redis's clock, and names the registrations that
  stopped doing so. A registration is `{node id}\n{incarnation}`; its score is its last heartbeat, or
  minus the time a sweeper claimed it for removal (claim-1.lua). A claimed registration is never
  revived: its node registers a new incarnation instead.

  KEYS[1]   sorted set of the registrations holding presence
  ARGV[1]   this node's registration
  ARGV[2]   how old a heartbeat (or a claim) may get before its registration counts as dead, ms
  ARGV[3]   how many dead registrations to name at most
  ARGV[4]   "1": a new registration, add it; "0": a heartbeat of a registered one

  Returns { lost, dead registrations... }: lost is 1 when this registration is gone or claimed (it
  was swept as dead, or Redis lost its data): nothing was written, the node registers again.
]]
--@include "redisTime"
local _, _, now = redisTime()
local score = redis.call("ZSCORE", KEYS[1], ARGV[1])
local lost = 0
if ARGV[4] == "1" or (score and tonumber(score) >= 0) then
  redis.call("ZADD", KEYS[1], now, ARGV[1])
else
  lost = 1
end

local result = { lost }
local maxAge, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
if limit > 0 then
  -- Heartbeats older than maxAge, then claims older than maxAge (their sweeper died or stalled).
  local stale = redis.call("ZRANGEBYSCORE", KEYS[1], 0, "(" .. (now - maxAge), "LIMIT", 0, limit)
  local abandoned = redis.call("ZRANGEBYSCORE", KEYS[1], "(" .. (maxAge - now), "(0", "LIMIT", 0, limit)
  for _, registration in ipairs(stale) do table.insert(result, registration) end
  for _, registration in ipairs(abandoned) do table.insert(result, registration) end
end
return result
