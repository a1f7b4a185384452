--[[
  Moves a topic's store-and-forward cursor forward, never back. An offset past the last one given
  out cannot be of this epoch (the history was lost since): it is ignored rather than clamped, so it
  cannot acknowledge the new epoch's events. The cursor is `<epoch>:<offset>`; a cursor of an older
  epoch is replaced.

  KEYS[1]  meta hash, KEYS[2] cursor
  ARGV[1]  acknowledged offset
  ARGV[2]  the epoch the client acknowledges in, or "" for the current one
  ARGV[3]  cursor TTL in ms

  Returns the cursor offset kept (0 when the topic has no history).
]]
--@include "cursorOffset"
local epoch = redis.call("HGET", KEYS[1], "epoch")
if not epoch then return 0 end
local current = cursorOffset(redis.call("GET", KEYS[2]), epoch)
if ARGV[2] ~= "" and ARGV[2] ~= epoch then return current end
local offset = tonumber(ARGV[1])
if offset <= current or offset > tonumber(redis.call("HGET", KEYS[1], "top")) then return current end
redis.call("SET", KEYS[2], epoch .. ":" .. offset, "PX", ARGV[3])
return offset
