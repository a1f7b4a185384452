--[[
  Tells which queues have work their owner has not done: commands after the cursor (a wake-up was
  lost, or a run failed) or committed events not yet published. Read-only; the owner then runs them.

  KEYS[3i-2]  a queue's state hash (its cursor)
  KEYS[3i-1]  the queue's command stream
  KEYS[3i]    the queue's outbox list

  Every queue of one call is in the same bucket (one Redis Cluster slot).

  Returns one number per queue, in order: 1 when it has work, 0 otherwise.
]]
local work = {}
for i = 1, #KEYS / 3 do
  local cursor = redis.call("HGET", KEYS[3 * i - 2], "cursor") or "0-0"
  if redis.call("LLEN", KEYS[3 * i]) > 0 or #redis.call("XRANGE", KEYS[3 * i - 1], "(" .. cursor, "+", "COUNT", 1) > 0 then
    work[i] = 1
  else
    work[i] = 0
  end
end
return work
