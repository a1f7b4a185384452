--[[
  Forgets one connection of a user on a topic. The user's last connection on the topic, across the
  cluster, publishes `presence.leave`, in the same step.

  KEYS[1]   this node's hash of entries
  KEYS[2]   the topic's counts hash
  KEYS[3]   the topic's since hash
  ARGV[1]   the entry's field: `{topic}\n{connection id}`
  ARGV[2]   the user id
  ARGV[3..] channel, message pairs: the `presence.leave` broadcast

  Returns 0 when the entry was not recorded (never joined, or swept), 1 when forgotten, 2 when
  forgotten and announced.
]]
if redis.call("HDEL", KEYS[1], ARGV[1]) == 0 then
  return 0
end
if redis.call("HINCRBY", KEYS[2], ARGV[2], -1) > 0 then
  return 1
end
redis.call("HDEL", KEYS[2], ARGV[2])
redis.call("HDEL", KEYS[3], ARGV[2])
for i = 3, #ARGV, 2 do
  redis.call("PUBLISH", ARGV[i], ARGV[i + 1])
end
return 2
