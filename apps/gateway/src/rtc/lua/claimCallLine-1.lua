--[[
  Puts a call on a user's line if the line still holds what the caller read: of two calls racing for
  one callee, one gets the line.

  KEYS[1]  the user's line (a call id)
  ARGV[1]  what the caller read: a call id, or "" for nothing
  ARGV[2]  the new line (a call id, pending or not)
  ARGV[3]  TTL, ms

  Returns 1 when claimed, 0 when the line changed meanwhile.
]]
local current = redis.call("GET", KEYS[1]) or ""
if current ~= ARGV[1] then
  return 0
end
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
return 1
