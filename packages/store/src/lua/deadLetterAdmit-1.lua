--[[
  Records a name as written now in a dead-letter index (a sorted set scored by last write), unless
  the index already holds `cap` other names written within `ttl`. On a source's index it decides
  whether a letter may go to its own stream or goes to the source's overflow stream, so input naming
  ever new orgs cannot multiply streams; on the index of orgs (cap 0) it records the org.

  KEYS[1]   the index: sorted set of names, scored by their last write (epoch ms)
  ARGV[1]   the name
  ARGV[2]   now, epoch milliseconds
  ARGV[3]   how long a name lives after its last write (and the index after this one), milliseconds
  ARGV[4]   cap: names the index may hold within that time; 0 = no cap

  Returns ADMITTED (1), or FULL (0) when the name is new and the index holds `cap` names.
]]
local ADMITTED, FULL = 1, 0
local cap = tonumber(ARGV[4])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", string.format("(%d", tonumber(ARGV[2]) - tonumber(ARGV[3])))
if cap > 0 and not redis.call("ZSCORE", KEYS[1], ARGV[1]) and redis.call("ZCARD", KEYS[1]) >= cap then
  return FULL
end
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return ADMITTED
