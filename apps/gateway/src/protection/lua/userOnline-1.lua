--[[
  Whether a user has a live connection: an entry of their connections hash not yet expired (a
  dead node's entries stay until they expire).

  KEYS[1]  the user's connections hash: connection id -> expiry (epoch ms)

  Returns 1 when online, 0 otherwise.
]]
--@include "redisTime"
local _, _, now = redisTime()
for _, expiry in ipairs(redis.call("HVALS", KEYS[1])) do
  if tonumber(expiry) > now then return 1 end
end
return 0
