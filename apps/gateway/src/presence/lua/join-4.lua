--[[
  Records one connection of a user on a topic. The user's first connection on the topic, across the
  cluster, announces `presence.join`; recording it and announcing are one step, so announcements
  follow the order of the changes whichever nodes make them. Every key and the channel are in the
  topic's slot.

  KEYS[1]   this node's entries on the topic: connection id -> `{user id}\n{org id}\n{incarnation}`
  KEYS[2]   this node's fence on the topic (the highest incarnation swept from it)
  KEYS[3]   the topic's counts hash (user id -> connections)
  KEYS[4]   the topic's since hash (user id -> epoch ms the user became present)
  ARGV[1]   this node's incarnation
  ARGV[2]   the connection id
  ARGV[3]   the user id
  ARGV[4]   the org id
  ARGV[5]   now, epoch ms (the `joined_at` of the announcement)
  ARGV[6]   "1": SPUBLISH, "0": PUBLISH
  ARGV[7]   channel of the `presence.join` broadcast
  ARGV[8]   message of the `presence.join` broadcast

  Returns -1 when the incarnation was swept from the topic (nothing is written, the caller registers
  again and replays its entries), 0 when the connection was already recorded (a replay moves it to
  this incarnation), 1 when recorded, 2 when recorded and announced.
]]
--@include "publishTo"
local incarnation = tonumber(ARGV[1])
local fence = redis.call("GET", KEYS[2])
if fence and tonumber(fence) >= incarnation then
  return -1
end
local value = ARGV[3] .. "\n" .. ARGV[4] .. "\n" .. ARGV[1]
local recorded = redis.call("HGET", KEYS[1], ARGV[2])
if recorded then
  local was = tonumber(string.match(recorded, "\n(%d+)$"))
  if was < incarnation then
    redis.call("HSET", KEYS[1], ARGV[2], value)
  end
  return 0
end
redis.call("HSET", KEYS[1], ARGV[2], value)
if redis.call("HINCRBY", KEYS[3], ARGV[3], 1) > 1 then
  return 1
end
redis.call("HSET", KEYS[4], ARGV[3], ARGV[5])
publishTo(ARGV[6], ARGV[7], ARGV[8])
return 2
