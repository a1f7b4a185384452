--[[
  Releases a queue's lease, only if the caller still holds it (a lapsed owner must not free the
  lease another worker took over).

  KEYS[1]  the queue's lease key
  ARGV[1]  the caller's token

  Returns 1 when released, 0 when the caller did not hold the lease.
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("DEL", KEYS[1])
  return 1
end
return 0
