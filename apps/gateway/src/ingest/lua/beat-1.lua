--[[
  Marks this gateway alive with Redis's clock, drops the gateways that stopped doing so, and names
  the live ones: the members the legacy channel's orgs are partitioned over.

  KEYS[1]   sorted set of the ingesting gateways, scored by their last heartbeat (epoch ms)
  ARGV[1]   this gateway's id
  ARGV[2]   how old a heartbeat may get before its gateway counts as gone, milliseconds

  Returns the ids of the live gateways, this one included.
]]
--@include "redisTime"
local _, _, now = redisTime()
local oldest = now - tonumber(ARGV[2])
redis.call("ZADD", KEYS[1], now, ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", "(" .. oldest)
return redis.call("ZRANGEBYSCORE", KEYS[1], oldest, "+inf")
