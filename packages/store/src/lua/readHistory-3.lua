--[[
  Reads a topic's position and the history entries a subscriber needs. Writes nothing: a topic
  nobody has published on (or whose history was lost) answers the empty epoch at offset 0, and its
  epoch is created by its first publish (publish-n.lua). So reads of any number of topics cost no
  memory in Redis.

  KEYS[1]  stream, KEYS[2] meta hash, KEYS[3] store-and-forward cursor
  ARGV[1]  the empty epoch (EMPTY_EPOCH): what a topic without an epoch answers
  ARGV[2]  since offset, or -1
  ARGV[3]  since epoch
  ARGV[4]  "1": when since is unusable, read from the acknowledged cursor (or the whole window)

  Returns { epoch, top, since matched (0/1), entries, now } where entries are XRANGE entries after
  the starting offset: since when it is of this epoch, else the cursor (ARGV[4]), else none; and
  now is Redis's time in ms, the clock the entries' `t` fields were written with. `since` at
  offset 0 of the empty epoch matches every epoch: the client saw the topic before anything was
  published on it, so every event of the current epoch came after.
]]
--@include "redisTime"
--@include "cursorOffset"
local _, _, nowMs = redisTime()
local empty = ARGV[1]
local since = tonumber(ARGV[2])
local fromEmpty = since == 0 and ARGV[3] == empty

local epoch = redis.call("HGET", KEYS[2], "epoch")
if not epoch then
  return { empty, 0, fromEmpty and 1 or 0, {}, nowMs }
end
local top = tonumber(redis.call("HGET", KEYS[2], "top"))

local matched = since >= 0 and (ARGV[3] == epoch or fromEmpty)
local from = top
if matched then
  from = since
elseif ARGV[4] == "1" then
  from = cursorOffset(redis.call("GET", KEYS[3]), epoch)
end

local entries = {}
if from < top then entries = redis.call("XRANGE", KEYS[1], (from + 1) .. "-0", "+") end
return { epoch, top, matched and 1 or 0, entries, nowMs }
