--[[
  Takes a queue's lease if nobody holds it: the single-instance lock of redlock (a random token set
  with NX and a TTL), answered with a value instead of an error when the lease is taken, so a worker
  that loses the race pays one round trip and nothing more.

  KEYS[1]  the queue's lease key
  ARGV[1]  the caller's new token (random)
  ARGV[2]  the lease TTL, ms

  Returns 1 when the caller now holds the lease, 0 when somebody else does.
]]
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", tonumber(ARGV[2])) then
  return 1
end
return 0
