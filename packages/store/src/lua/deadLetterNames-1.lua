--[[
  The names in a dead-letter index written within their lifetime (an org's stream names, or the
  orgs with dead letters); forgets the others (their streams have expired).

  KEYS[1]   the index: sorted set of names, scored by their last write (epoch ms)
  ARGV[1]   now, epoch milliseconds
  ARGV[2]   how long a stream lives after its last write, milliseconds

  Returns the names.
]]
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", string.format("(%d", tonumber(ARGV[1]) - tonumber(ARGV[2])))
return redis.call("ZRANGE", KEYS[1], 0, -1)
