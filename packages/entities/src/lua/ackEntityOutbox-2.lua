--[[
  Drops an entity's first outbox events if they are the ones the caller delivered: another process
  (the committer, a sweeper) may have delivered and dropped them already, and events committed
  since stay.

  KEYS[1]  the entity's outbox list
  KEYS[2]  the sorted set of the bucket's entities with undelivered events
  ARGV[1]  the entity's id
  ARGV[2..] the delivered events, JSON, oldest first
]]
-- The outbox is in delivery order: a delivered event that is not at its head was dropped already
-- (another process acked the first ones meanwhile), so it is passed over, not a reason to stop.
for i = 2, #ARGV do
  if redis.call("LINDEX", KEYS[1], 0) == ARGV[i] then
    redis.call("LPOP", KEYS[1])
  end
end
if redis.call("LLEN", KEYS[1]) == 0 then
  redis.call("ZREM", KEYS[2], ARGV[1])
end
return 1
