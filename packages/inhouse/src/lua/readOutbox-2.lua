--[[
  Reads the first events of a queue's outbox, for the lease holder only: a worker that lost its
  lease must not publish what it finds there (the owner does).

  KEYS[1]  the queue's lease key
  KEYS[2]  the queue's outbox list
  ARGV[1]  the caller's lease token
  ARGV[2]  how many events at most

  Returns the events (JSON), or false when the caller does not hold the lease.
]]
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
  return false
end
return redis.call("LRANGE", KEYS[2], 0, tonumber(ARGV[2]) - 1)
