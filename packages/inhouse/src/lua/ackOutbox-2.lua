--[[
  Drops the first events of a queue's outbox once the lease holder has published them.

  KEYS[1]  the queue's lease key
  KEYS[2]  the queue's outbox list
  ARGV[1]  the caller's lease token
  ARGV[2]  how many events were published

  Returns 1, or 0 when the caller does not hold the lease (the events stay for the owner).
]]
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call("LTRIM", KEYS[2], tonumber(ARGV[2]), -1)
return 1
