--[[
  Reads a topic's position and the history entries a subscriber needs, creating the topic's epoch
  when it has none (new topic, or history lost), so a client always learns the current epoch.

  KEYS[1]  stream, KEYS[2] meta hash, KEYS[3] store-and-forward cursor
  ARGV[1]  3 characters that end a new epoch
  ARGV[2]  since offset, or -1
  ARGV[3]  since epoch
  ARGV[4]  "1": when since is unusable, read from the acknowledged cursor (or the whole window)
  ARGV[5]  meta TTL in ms for an epoch created by this read (the namespace's TTL: a subscribe to a
           topic nobody publishes on leaves nothing behind for long)

  Returns { epoch, top, since matched (0/1), entries, now } where entries are XRANGE entries after
  the starting offset: since when it is of this epoch, else the cursor (ARGV[4]), else none; and
  now is Redis's time in ms, the clock the entries' `t` fields were written with.
]]
local clock = redis.call("TIME")
local nowMs = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local epoch = redis.call("HGET", KEYS[2], "epoch")
if not epoch then
  epoch = string.format("%08x%05x", tonumber(clock[1]), tonumber(clock[2])) .. ARGV[1]
  redis.call("DEL", KEYS[1])
  redis.call("HSET", KEYS[2], "epoch", epoch, "top", 0)
  redis.call("PEXPIRE", KEYS[2], ARGV[5])
end
local top = tonumber(redis.call("HGET", KEYS[2], "top"))

local since = tonumber(ARGV[2])
local matched = since >= 0 and ARGV[3] == epoch
local from = top
if matched then
  from = since
elseif ARGV[4] == "1" then
  from = 0
  local cursor = redis.call("GET", KEYS[3])
  if cursor then
    local cursorEpoch, cursorOffset = string.match(cursor, "^(.+):(%d+)$")
    if cursorEpoch == epoch then from = tonumber(cursorOffset) end
  end
end

local entries = {}
if from < top then entries = redis.call("XRANGE", KEYS[1], (from + 1) .. "-0", "+") end
return { epoch, top, matched and 1 or 0, entries, nowMs }
