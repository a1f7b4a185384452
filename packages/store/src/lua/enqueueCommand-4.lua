--[[
  Durably accepts one inhouse queue command, once per command id, and wakes the queue's owner.
  A command a user sends for themselves (ARGV[5] = "1") is only for a queue that exists and is not
  closed: for any other queue it is refused here and writes nothing (no stream, no active entry, no
  dedupe key), so made-up queue ids leave nothing behind.

  KEYS[1]  the queue's dedupe key of the command id
  KEYS[2]  the queue's command stream
  KEYS[3]  the set of active queue names of the queue's bucket
  KEYS[4]  the queue's state hash (a retired queue's expiry is lifted)
  ARGV[1]  dedupe window, milliseconds
  ARGV[2]  the queue's name ({org_id}/{queue_id})
  ARGV[3]  the wake-up channel
  ARGV[4]  the command, JSON
  ARGV[5]  "1": accept only for an existing queue that is not closed

  Every key is in the queue's bucket's slot (one Redis Cluster slot); the wake-up is a classic
  PUBLISH, which Redis Cluster delivers to subscribers on every node.

  Returns the command's stream id; DUPLICATE (0) when the id was accepted before; NO_QUEUE (-1)
  when ARGV[5] is "1" and the queue does not exist or is closed.
]]
local DUPLICATE, NO_QUEUE = 0, -1
if ARGV[5] == "1" then
  local queue = redis.call("HGET", KEYS[4], "queue")
  if not queue or cjson.decode(queue).status == "closed" then
    return NO_QUEUE
  end
end
if not redis.call("SET", KEYS[1], "1", "NX", "PX", ARGV[1]) then
  return DUPLICATE
end
local id = redis.call("XADD", KEYS[2], "*", "command", ARGV[4])
redis.call("PERSIST", KEYS[2])
redis.call("PERSIST", KEYS[4])
redis.call("SADD", KEYS[3], ARGV[2])
redis.call("PUBLISH", ARGV[3], ARGV[2])
return id
