--[[
  Records a user as a member of a conversation (they subscribed with a grant), keeping the most
  recent ones only, each for as long as the conversation's history after their last subscribe.

  KEYS[1]  the conversation's members: user id -> last subscribe (epoch ms)
  ARGV[1]  user id
  ARGV[2]  how many members are kept at most
  ARGV[3]  how long the set is kept after the last subscribe, ms

  Returns how many members the conversation has.
]]
--@include "redisTime"
local _, _, now = redisTime()
-- Members not back within the history window are no longer members, however lively the rest.
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - tonumber(ARGV[3]))
redis.call("ZADD", KEYS[1], now, ARGV[1])
local max = tonumber(ARGV[2])
local size = redis.call("ZCARD", KEYS[1])
if size > max then
  redis.call("ZREMRANGEBYRANK", KEYS[1], 0, size - max - 1)
  size = max
end
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return size
