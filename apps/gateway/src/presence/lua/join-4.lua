--[[
  Records one connection of a user on a topic. The user's first connection on the topic, across the
  cluster, publishes `presence.join`; recording it and publishing are one step, so announcements
  follow the order of the changes whichever nodes make them.

  KEYS[1]   sorted set of the nodes holding presence
  KEYS[2]   this node's hash of entries
  KEYS[3]   the topic's counts hash (user id -> connections)
  KEYS[4]   the topic's since hash (user id -> epoch ms the user became present)
  ARGV[1]   this node's id
  ARGV[2]   the entry's field: `{topic}\n{connection id}`
  ARGV[3]   the entry's value: `{user id}\n{org id}`
  ARGV[4]   the user id
  ARGV[5]   now, epoch ms (the `joined_at` of the announcement)
  ARGV[6..] channel, message pairs: the `presence.join` broadcast

  Returns -1 when this node is not registered (it was swept as dead: nothing is written, the caller
  registers again and replays its entries), 0 when the entry was already recorded, 1 when recorded,
  2 when recorded and announced.
]]
if not redis.call("ZSCORE", KEYS[1], ARGV[1]) then
  return -1
end
if redis.call("HSETNX", KEYS[2], ARGV[2], ARGV[3]) == 0 then
  return 0
end
if redis.call("HINCRBY", KEYS[3], ARGV[4], 1) > 1 then
  return 1
end
redis.call("HSET", KEYS[4], ARGV[4], ARGV[5])
for i = 6, #ARGV, 2 do
  redis.call("PUBLISH", ARGV[i], ARGV[i + 1])
end
return 2
