--[[
  Gives this node a new incarnation: its entries are recorded under it, and a sweep removes the
  entries of one incarnation only (the entries of a node that registered again after being taken for
  dead stay). Incarnations only grow: above the last one given out, above any sealed one, and at
  least Redis's clock, so they keep growing when the registration hash expired (a day after the last
  sweep of the node).

  KEYS[1]   the node's registration hash: `incarnation`, `sealed`
  Returns the new incarnation.
]]
--@include "redisTime"
local _, _, now = redisTime()
local last = tonumber(redis.call("HGET", KEYS[1], "incarnation") or "0")
local sealed = tonumber(redis.call("HGET", KEYS[1], "sealed") or "0")
local incarnation = math.max(now, last + 1, sealed + 1)
redis.call("HSET", KEYS[1], "incarnation", string.format("%d", incarnation))
redis.call("PERSIST", KEYS[1])
return incarnation
