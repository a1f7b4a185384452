--[[
  Delivers a durable client publication on its topic: claims its id on the topic and, only when it
  was free, appends it to the topic's history (its offset), publishes the broadcast and appends it
  to the client-event stream of the topic's bucket, for backend consumers. One step on one slot:
  the topic's room carries its bucket's hash tag, so its keys, its channel and the bucket's stream
  share it (see `roomOf`). A backend never sees a publication clients did not get, nor the reverse.

  KEYS[1]  dedupe key of (topic, org, publication id)
  KEYS[2]  the topic's history stream
  KEYS[3]  the topic's history meta hash (`epoch`, `top`)
  KEYS[4]  the client-event stream of the topic's bucket
  ARGV[1]  dedupe window, milliseconds
  ARGV[2]  3 characters that end a new epoch (the caller's salt)
  ARGV[3]  "1": SPUBLISH (sharded pub/sub), "0": PUBLISH
  ARGV[4]  channel
  ARGV[5]  message (@socket.io/redis-adapter wire format), offset and epoch as placeholders
  ARGV[6]  the 1-based position of the offset placeholder in the message
  ARGV[7]  history size
  ARGV[8]  history TTL, ms
  ARGV[9]  the envelope as JSON, without offset and epoch (the stream entry's `e`)
  ARGV[10] the client-event stream's length at most (approximate trim)
  ARGV[11] the sender, `{org}\n{user}`

  The dedupe key keeps `{offset}:{epoch}:{sender}`. Returns {1, offset, epoch} when delivered;
  {0, offset, epoch} when the sender published the id on the topic within the window (the first
  publication's position; nothing is published again); {2} when somebody else did (or a producer:
  its value is "1"), so the id is not this sender's to use.
]]
local seen = redis.call("GET", KEYS[1])
if seen then
  local first = string.find(seen, ":", 1, true)
  local second = first and string.find(seen, ":", first + 1, true)
  if not second or string.sub(seen, second + 1) ~= ARGV[11] then
    return {2}
  end
  return {0, tonumber(string.sub(seen, 1, first - 1)), string.sub(seen, first + 1, second - 1)}
end

--@include "appendHistory"
--@include "publishTo"
local message, offset, epoch = appendHistory(KEYS[2], KEYS[3], ARGV[5], tonumber(ARGV[6]), ARGV[2], ARGV[7], tonumber(ARGV[8]))
redis.call("SET", KEYS[1], offset .. ":" .. epoch .. ":" .. ARGV[11], "PX", ARGV[1])
publishTo(ARGV[3], ARGV[4], message)
redis.call("XADD", KEYS[4], "MAXLEN", "~", ARGV[10], "*", "e", ARGV[9], "o", offset, "p", epoch)
return {1, offset, epoch}
