--[[
  Durably accepts one inhouse queue command, once per command id, and wakes the queue's owner.

  KEYS[1]  dedupe key of the command id
  KEYS[2]  the queue's command stream
  KEYS[3]  the set of active queue names
  KEYS[4]  the queue's state hash (a retired queue's expiry is lifted)
  ARGV[1]  dedupe window, milliseconds
  ARGV[2]  the queue's name ({org_id}/{queue_id})
  ARGV[3]  the wake-up channel
  ARGV[4]  the command, JSON

  Returns the command's stream id, or false when the id was accepted before.
]]
if not redis.call("SET", KEYS[1], "1", "NX", "PX", ARGV[1]) then
  return false
end
local id = redis.call("XADD", KEYS[2], "*", "command", ARGV[4])
redis.call("PERSIST", KEYS[2])
redis.call("PERSIST", KEYS[4])
redis.call("SADD", KEYS[3], ARGV[2])
redis.call("PUBLISH", ARGV[3], ARGV[2])
return id
