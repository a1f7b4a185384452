--[[
  Appends a rejected event to its dead-letter stream, once per fingerprint: several gateways that
  ingest the same bad message record it once. Streams expire `ttl` after their last write, and the
  index of stream names keeps only the streams written within that time. A source that has written
  `cap` streams within that time writes entries for any other stream to its overflow stream, so
  input naming ever new orgs cannot multiply streams.

  KEYS[1]   the dead-letter stream
  KEYS[2]   the index: sorted set of stream names, scored by their last write (epoch ms)
  KEYS[3]   the fingerprint key of the rejected input (unused without a fingerprint)
  KEYS[4]   the source's index: sorted set of the streams it wrote, scored by its last write to each
  KEYS[5]   the source's overflow stream
  ARGV[1]   stream name to record in the index
  ARGV[2]   approximate maximum length of the stream
  ARGV[3]   how long the fingerprint is remembered, milliseconds; 0 = no fingerprint
  ARGV[4]   how long the stream (and the indexes) live after this write, milliseconds
  ARGV[5]   now, epoch milliseconds
  ARGV[6]   cap: streams the source may write within that time; 0 = this stream is not capped
  ARGV[7]   overflow stream name to record in the index
  ARGV[8..] field, value pairs of the entry

  Returns false when this input was already dead-lettered, else { entry id, OVERFLOWED (1) or 0 }.
]]
local OVERFLOWED = 1
if tonumber(ARGV[3]) > 0 and not redis.call("SET", KEYS[3], "1", "NX", "PX", ARGV[3]) then
  return false
end
local now, ttl, cap = tonumber(ARGV[5]), tonumber(ARGV[4]), tonumber(ARGV[6])
local expired = string.format("(%d", now - ttl)
local stream, name, overflowed = KEYS[1], ARGV[1], 0
if cap > 0 then
  redis.call("ZREMRANGEBYSCORE", KEYS[4], "-inf", expired)
  if not redis.call("ZSCORE", KEYS[4], name) and redis.call("ZCARD", KEYS[4]) >= cap then
    stream, name, overflowed = KEYS[5], ARGV[7], OVERFLOWED
  else
    redis.call("ZADD", KEYS[4], ARGV[5], name)
    redis.call("PEXPIRE", KEYS[4], ARGV[4])
  end
end
local fields = {}
for i = 8, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local id = redis.call("XADD", stream, "MAXLEN", "~", ARGV[2], "*", unpack(fields))
redis.call("PEXPIRE", stream, ARGV[4])
redis.call("ZADD", KEYS[2], ARGV[5], name)
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", expired)
redis.call("PEXPIRE", KEYS[2], ARGV[4])
return { id, overflowed }
