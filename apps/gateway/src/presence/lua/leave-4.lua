--[[
  Forgets one connection of a user on a topic. The user's last connection on the topic, across the
  cluster, announces `presence.leave`, in the same step. Every key and the channel are in the
  topic's slot.

  KEYS[1]   this node's entries on the topic
  KEYS[2]   the topic's counts hash
  KEYS[3]   the topic's since hash
  KEYS[4]   the topic's metadata hash (the connection's goes with it)
  ARGV[1]   the connection id
  ARGV[2]   the user id
  ARGV[3]   "1": SPUBLISH, "0": PUBLISH
  ARGV[4]   channel of the `presence.leave` broadcast
  ARGV[5]   message of the `presence.leave` broadcast

  Returns 0 when the connection was not recorded (never joined, or swept), 1 when forgotten, 2 when
  forgotten and announced.
]]
--@include "publishTo"
if redis.call("HDEL", KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call("HDEL", KEYS[4], ARGV[1])
if redis.call("HINCRBY", KEYS[2], ARGV[2], -1) > 0 then
  return 1
end
redis.call("HDEL", KEYS[2], ARGV[2])
redis.call("HDEL", KEYS[3], ARGV[2])
publishTo(ARGV[3], ARGV[4], ARGV[5])
return 2
