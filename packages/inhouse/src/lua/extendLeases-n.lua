--[[
  Renews many leases of one worker in one step: each lease whose key still holds the caller's token
  gets a new TTL; the others (lapsed, taken over, retired) are left alone and reported lost.

  KEYS[i]    a queue's lease key; every queue of one call is in the same bucket (one Redis Cluster slot)
  ARGV[1]    the new TTL, ms
  ARGV[i+1]  the caller's token for KEYS[i]

  Returns one number per key, in order: 1 when renewed, 0 when the caller no longer holds it.
]]
local ttl = tonumber(ARGV[1])
local held = {}
for i = 1, #KEYS do
  if redis.call("GET", KEYS[i]) == ARGV[i + 1] then
    redis.call("PEXPIRE", KEYS[i], ttl)
    held[i] = 1
  else
    held[i] = 0
  end
end
return held
