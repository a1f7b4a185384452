--[[
  Seals an incarnation being removed: it may list no more topics (addTopic-2.lua), and the topics it
  listed are returned for the sweeper to remove its entries from. When no later incarnation is alive
  the registration hash expires after `ttl`, as long as a late write of the sealed one could matter.

  KEYS[1]   the node's registration hash
  KEYS[2]   the incarnation's set of topics
  ARGV[1]   the incarnation
  ARGV[2]   how long the registration hash outlives the node's last incarnation, ms

  Returns the topics (rooms) the incarnation listed.
]]
local incarnation = tonumber(ARGV[1])
local sealed = tonumber(redis.call("HGET", KEYS[1], "sealed") or "0")
if incarnation > sealed then
  sealed = incarnation
  redis.call("HSET", KEYS[1], "sealed", ARGV[1])
end
if tonumber(redis.call("HGET", KEYS[1], "incarnation") or "0") <= sealed then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return redis.call("SMEMBERS", KEYS[2])
