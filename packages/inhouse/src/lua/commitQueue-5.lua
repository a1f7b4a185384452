--[[
  Applies one change of an inhouse queue, fenced: only the current lease holder, and only on top of
  the version it read. A paused owner whose lease expired (or was taken over) cannot write.

  KEYS[1]  the queue's state hash (queue, version, cursor)
  KEYS[2]  the queue's lease key
  KEYS[3]  the sorted set of check-in deadlines of the queue's bucket
  KEYS[4]  the queue's outbox list
  KEYS[5]  the queue's command stream (applied commands before the cursor are trimmed)
  ARGV[1]  the caller's lease token
  ARGV[2]  the version the caller read (-1: no queue yet)
  ARGV[3]  the new queue, JSON; "" leaves the queue as is (a refused command only moves the cursor)
  ARGV[4]  the new version
  ARGV[5]  the cursor: stream id of the last command applied
  ARGV[6]  the check-in deadline, epoch ms; "" for none
  ARGV[7]  the queue's name, as member of the deadline set
  ARGV[8..] events to publish after the commit, JSON, appended to the outbox

  Every key is in the queue's bucket's slot (one Redis Cluster slot): the deadline changes in the
  same step as the queue, so it can neither fire twice nor get lost.

  Returns 1 when applied, -1 when the caller does not hold the lease, -2 when the version moved on.
]]
if redis.call("GET", KEYS[2]) ~= ARGV[1] then
  return -1
end
local version = tonumber(redis.call("HGET", KEYS[1], "version") or "-1")
if version ~= tonumber(ARGV[2]) then
  return -2
end
if ARGV[3] ~= "" then
  redis.call("HSET", KEYS[1], "queue", ARGV[3], "version", ARGV[4])
  if ARGV[6] == "" then
    redis.call("ZREM", KEYS[3], ARGV[7])
  else
    redis.call("ZADD", KEYS[3], ARGV[6], ARGV[7])
  end
end
redis.call("HSET", KEYS[1], "cursor", ARGV[5])
-- Keep the cursor's own entry: new stream ids must stay above it.
redis.call("XTRIM", KEYS[5], "MINID", ARGV[5])
for i = 8, #ARGV do
  redis.call("RPUSH", KEYS[4], ARGV[i])
end
return 1
