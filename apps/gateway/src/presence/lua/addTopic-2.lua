--[[
  Lists a topic among those an incarnation of this node has entries on, before the first entry there
  is recorded, so the sweep that removes the incarnation finds it. Refused once the incarnation is
  sealed (a sweep read its topics): an entry recorded later would be missed.

  KEYS[1]   the node's registration hash
  KEYS[2]   the incarnation's set of topics
  ARGV[1]   the incarnation
  ARGV[2]   the topic (room)

  Returns 1 when listed, -1 when the incarnation is sealed (the node registers again).
]]
local sealed = redis.call("HGET", KEYS[1], "sealed")
if sealed and tonumber(sealed) >= tonumber(ARGV[1]) then
  return -1
end
redis.call("SADD", KEYS[2], ARGV[2])
return 1
