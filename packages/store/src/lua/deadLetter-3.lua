--[[
  Appends a rejected event to its dead-letter stream, once per fingerprint: several gateways that
  ingest the same bad message record it once. Streams expire `ttl` after their last write, and the
  org's index of stream names keeps only the streams written within that time. Every key is of the
  stream's org (one hash tag, one Redis Cluster slot); which stream a letter goes to (its own or
  its source's overflow stream) was decided before, by deadLetterAdmit-1.lua on the source's index.

  KEYS[1]   the dead-letter stream
  KEYS[2]   the org's index: sorted set of its stream names, scored by their last write (epoch ms)
  KEYS[3]   the fingerprint key of the rejected input (unused without a fingerprint)
  ARGV[1]   stream name to record in the index
  ARGV[2]   approximate maximum length of the stream
  ARGV[3]   how long the fingerprint is remembered, milliseconds; 0 = no fingerprint
  ARGV[4]   how long the stream (and the index) live after this write, milliseconds
  ARGV[5]   now, epoch milliseconds
  ARGV[6..] field, value pairs of the entry

  Returns false when this input was already dead-lettered, else the entry id.
]]
if tonumber(ARGV[3]) > 0 and not redis.call("SET", KEYS[3], "1", "NX", "PX", ARGV[3]) then
  return false
end
local fields = {}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[2], "*", unpack(fields))
redis.call("PEXPIRE", KEYS[1], ARGV[4])
redis.call("ZADD", KEYS[2], ARGV[5], ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", string.format("(%d", tonumber(ARGV[5]) - tonumber(ARGV[4])))
redis.call("PEXPIRE", KEYS[2], ARGV[4])
return id
