--[[
  Commits one change of an entity (a call, a huddle), on top of the version the caller read: the
  version is the fence, so of two processes that computed a change from the same state only one
  commits (the other reloads and decides again), and a deadline fires once.

  KEYS[1]  the entity's state hash (state, version)
  KEYS[2]  the sorted set of deadlines of the entity's bucket
  KEYS[3]  the entity's outbox list
  KEYS[4]  the sorted set of the bucket's entities with undelivered events
  ARGV[1]  the entity's id (member of both sets)
  ARGV[2]  the version the caller read (-1: no entity)
  ARGV[3]  the new state, JSON; "" deletes the entity (its version stays, as a tombstone)
  ARGV[4]  the new deadline, epoch ms; "" for none
  ARGV[5]  how long the state is kept, ms; "" keeps it; on a delete: how long the tombstone is kept
  ARGV[6]  now, epoch ms: when the events were committed
  ARGV[7..] events to deliver after the commit, JSON, appended to the outbox

  Every key is in the bucket's slot, so the script runs on Redis Cluster.
  Returns the new version, or -2 when the version moved on.
]]
local version = tonumber(redis.call("HGET", KEYS[1], "version") or "-1")
if version ~= tonumber(ARGV[2]) then
  return -2
end
local next = version + 1
if ARGV[3] == "" then
  if version == -1 then
    -- Nothing to delete: no tombstone either.
    next = -1
  else
    -- A tombstone: the version stays, so an entity created again at this id never repeats a
    -- version, and a change decided on the deleted one cannot commit onto the new one.
    redis.call("HDEL", KEYS[1], "state")
    redis.call("HSET", KEYS[1], "version", next)
    redis.call("PEXPIRE", KEYS[1], ARGV[5])
  end
else
  redis.call("HSET", KEYS[1], "state", ARGV[3], "version", next)
  if ARGV[5] == "" then
    redis.call("PERSIST", KEYS[1])
  else
    redis.call("PEXPIRE", KEYS[1], ARGV[5])
  end
end
if ARGV[4] == "" then
  redis.call("ZREM", KEYS[2], ARGV[1])
else
  redis.call("ZADD", KEYS[2], ARGV[4], ARGV[1])
end
if #ARGV >= 7 then
  for i = 7, #ARGV do
    redis.call("RPUSH", KEYS[3], ARGV[i])
  end
  redis.call("ZADD", KEYS[4], "NX", ARGV[6], ARGV[1])
end
return next
