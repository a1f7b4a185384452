--[[
  Removes every presence entry of one node: a dead node (when its heartbeat is still too old, so of
  several sweepers exactly one removes it), or this node itself at startup and on close. Users whose
  count reaches 0 are returned for the caller to announce with announceLeave-2.lua; their since
  field stays until then, as the proof that nobody came back meanwhile.

  Topic keys are made here from the topic in each entry's field, as `before .. topic .. after`,
  where the caller took `before` and `after` from the key builder.

  KEYS[1]   sorted set of the nodes holding presence
  KEYS[2]   the node's hash of entries: `{topic}\n{connection id}` -> `{user id}\n{org id}`
  ARGV[1]   the node's id
  ARGV[2]   how old its heartbeat must be, milliseconds; 0 removes it whatever its heartbeat
  ARGV[3]   counts key of a topic: what comes before the topic
  ARGV[4]   counts key of a topic: what comes after the topic
  ARGV[5]   since key of a topic: what comes before the topic
  ARGV[6]   since key of a topic: what comes after the topic

  Returns { removed, then (topic, user id, org id, since) per user that left }: removed is 0 when
  the node was left alone (alive again, or already removed by another sweeper), else 1.
]]
--@include "redisTime"
local maxAge = tonumber(ARGV[2])
if maxAge > 0 then
  local beat = redis.call("ZSCORE", KEYS[1], ARGV[1])
  if not beat then
    return { 0 }
  end
  local _, _, now = redisTime()
  if tonumber(beat) >= now - maxAge then
    return { 0 }
  end
end

local result = { 1 }
local entries = redis.call("HGETALL", KEYS[2])
for i = 1, #entries, 2 do
  local field, value = entries[i], entries[i + 1]
  local topic = string.sub(field, 1, string.find(field, "\n", 1, true) - 1)
  local split = string.find(value, "\n", 1, true)
  local user, org = string.sub(value, 1, split - 1), string.sub(value, split + 1)
  local counts = ARGV[3] .. topic .. ARGV[4]
  if redis.call("HINCRBY", counts, user, -1) <= 0 then
    redis.call("HDEL", counts, user)
    local since = redis.call("HGET", ARGV[5] .. topic .. ARGV[6], user) or ""
    table.insert(result, topic)
    table.insert(result, user)
    table.insert(result, org)
    table.insert(result, since)
  end
end
redis.call("DEL", KEYS[2])
redis.call("ZREM", KEYS[1], ARGV[1])
return result
