--[[
  Revokes a user's tokens issued before a time (never moving an earlier revocation's time back) and
  tells every gateway, so the user's connections with such tokens close everywhere.

  KEYS[1]  the user's revocation key
  ARGV[1]  before: epoch ms
  ARGV[2]  how long the revocation is kept, ms (longer than any token may live)
  ARGV[3]  the control channel
  ARGV[4]  the control message, JSON

  Returns the revocation time kept.
]]
local before = tonumber(ARGV[1])
local current = tonumber(redis.call("GET", KEYS[1]) or "0")
if current > before then before = current end
redis.call("SET", KEYS[1], before, "PX", ARGV[2])
redis.call("PUBLISH", ARGV[3], ARGV[4])
return before
