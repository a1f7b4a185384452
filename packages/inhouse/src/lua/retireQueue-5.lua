--[[
  Retires a closed queue, or one that was never opened, whose commands are all applied: it leaves
  the active set and its lease is released, so no worker keeps holding it. A closed queue's state
  and command stream expire after 7 days unless a command arrives first (which makes it active
  again and keeps them); a queue that was never opened (its commands were all refused) keeps
  nothing: its state and stream are deleted.

  KEYS[1]  the queue's lease key
  KEYS[2]  the set of active queue names of the queue's bucket
  KEYS[3]  the queue's command stream
  KEYS[4]  the sorted set of check-in deadlines of the queue's bucket
  KEYS[5]  the queue's state hash
  ARGV[1]  the caller's lease token
  ARGV[2]  the cursor: stream id of the last command applied
  ARGV[3]  the queue's name

  Returns 1 when retired, 0 when the caller does not hold the lease or commands are pending.
]]
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
if #redis.call("XRANGE", KEYS[3], "(" .. ARGV[2], "+", "COUNT", 1) > 0 then
  return 0
end
redis.call("SREM", KEYS[2], ARGV[3])
redis.call("ZREM", KEYS[4], ARGV[3])
redis.call("DEL", KEYS[1])
if redis.call("HEXISTS", KEYS[5], "queue") == 0 then
  redis.call("DEL", KEYS[5], KEYS[3])
else
  redis.call("EXPIRE", KEYS[5], 604800)
  redis.call("EXPIRE", KEYS[3], 604800)
end
return 1
