--[[
  Renews the entries of one user's connections that are still there (a released one is not
  brought back), and the hash's own expiry.

  KEYS[1]  the user's connections hash: connection id -> expiry (epoch ms)
  ARGV[1]  entry TTL in ms
  ARGV[2..] connection ids

  Returns how many entries were renewed.
]]
--@include "redisTime"
local _, _, now = redisTime()
local expiry = now + tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  if redis.call("HEXISTS", KEYS[1], ARGV[i]) == 1 then
    redis.call("HSET", KEYS[1], ARGV[i], expiry)
    renewed = renewed + 1
  end
end
if renewed > 0 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
return renewed
