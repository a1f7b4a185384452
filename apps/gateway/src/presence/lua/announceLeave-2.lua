--[[
  Announces `presence.leave` for a user whose last connection was removed with its node
  (removeNode-2.lua), unless the user came back meanwhile: a join since then replaced the since
  field, and a join and leave since then removed it (and announced that leave).

  KEYS[1]   the topic's counts hash
  KEYS[2]   the topic's since hash
  ARGV[1]   the user id
  ARGV[2]   the since value removeNode-2.lua returned for the user
  ARGV[3..] channel, message pairs: the `presence.leave` broadcast

  Returns 1 when announced, 0 when the user is present again or was announced already.
]]
if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 1 then
  return 0
end
if (redis.call("HGET", KEYS[2], ARGV[1]) or "") ~= ARGV[2] then
  return 0
end
redis.call("HDEL", KEYS[2], ARGV[1])
for i = 3, #ARGV, 2 do
  redis.call("PUBLISH", ARGV[i], ARGV[i + 1])
end
return 1
