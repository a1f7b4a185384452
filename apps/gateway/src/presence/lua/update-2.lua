--[[
  Sets one connection's presence metadata on a topic and announces `presence.update`, in the same
  step, unless the metadata is already this. Only a recorded connection has metadata: it goes with
  its entry (leave-4.lua, removeTopic-5.lua). Every key and the channel are in the topic's slot.

  KEYS[1]   this node's entries on the topic
  KEYS[2]   the topic's metadata hash: connection id -> `{updated at}\n{user id}\n{metadata JSON}`
  ARGV[1]   the connection id
  ARGV[2]   the user id
  ARGV[3]   now, epoch ms
  ARGV[4]   the metadata, JSON
  ARGV[5]   "1": SPUBLISH, "0": PUBLISH
  ARGV[6]   channel of the `presence.update` broadcast
  ARGV[7]   message of the `presence.update` broadcast

  Returns -1 when the connection is not recorded (nothing is written), 0 when its metadata was
  already this, 1 when set and announced.
]]
--@include "publishTo"
if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 0 then
  return -1
end
local was = redis.call("HGET", KEYS[2], ARGV[1])
if was and string.match(was, "^[^\n]*\n[^\n]*\n(.*)$") == ARGV[4] then
  return 0
end
redis.call("HSET", KEYS[2], ARGV[1], ARGV[3] .. "\n" .. ARGV[2] .. "\n" .. ARGV[4])
publishTo(ARGV[5], ARGV[6], ARGV[7])
return 1
