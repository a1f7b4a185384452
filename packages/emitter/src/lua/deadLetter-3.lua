--[[
  Appends a rejected event to its dead-letter stream, once per fingerprint: several gateways that
  ingest the same bad message record it once.

  KEYS[1]   the dead-letter stream
  KEYS[2]   the index set of dead-letter stream names
  KEYS[3]   the fingerprint key of the rejected input
  ARGV[1]   stream name to record in the index
  ARGV[2]   approximate maximum length of the stream
  ARGV[3]   how long the fingerprint is remembered, milliseconds
  ARGV[4..] field, value pairs of the entry

  Returns the new entry id, or false when this input was already dead-lettered.
]]
if not redis.call("SET", KEYS[3], "1", "NX", "PX", ARGV[3]) then
  return false
end
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[2], "*", unpack(fields))
redis.call("SADD", KEYS[2], ARGV[1])
return id
