--[[
  Renews the entries of several users' connections that are still there (a released one is not
  brought back), and each hash's own expiry. On Redis Cluster every key of one call is in one slot.

  KEYS[1..n]  users' connections hashes: connection id -> expiry (epoch ms)
  ARGV[1]     entry TTL in ms
  ARGV[2..n+1] how many connection ids follow for KEYS[i]
  ARGV[n+2..] the connection ids, KEYS[1]'s first

  Returns how many entries were renewed.
]]
--@include "redisTime"
local _, _, now = redisTime()
local ttl = tonumber(ARGV[1])
local expiry = now + ttl
local renewed = 0
local next = #KEYS + 2
for k = 1, #KEYS do
  local key = KEYS[k]
  local count = tonumber(ARGV[k + 1])
  local any = false
  for i = next, next + count - 1 do
    if redis.call("HEXISTS", key, ARGV[i]) == 1 then
      redis.call("HSET", key, ARGV[i], expiry)
      renewed = renewed + 1
      any = true
    end
  end
  next = next + count
  if any then redis.call("PEXPIRE", key, ttl) end
end
return renewed
