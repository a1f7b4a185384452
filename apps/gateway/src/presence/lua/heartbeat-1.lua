--[[
  Marks this node alive with Redis's clock, and names the nodes that stopped doing so.

  KEYS[1]   sorted set of the nodes holding presence, scored by their last heartbeat (epoch ms)
  ARGV[1]   this node's id
  ARGV[2]   how old a heartbeat may get before its node counts as dead, milliseconds
  ARGV[3]   how many dead nodes to name at most

  Returns { added, dead node ids... }: added is 1 when this node was not registered (first
  heartbeat, or it was swept as dead meanwhile), else 0.
]]
--@include "redisTime"
local _, _, now = redisTime()
local added = redis.call("ZADD", KEYS[1], now, ARGV[1])
local dead = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", "(" .. (now - tonumber(ARGV[2])), "LIMIT", 0, tonumber(ARGV[3]))
table.insert(dead, 1, added)
return dead
