--[[
  Removes the entries one incarnation of a node (or an older one) holds on one topic, fences the
  topic against late joins of it, and announces `presence.leave` for every user whose last
  connection went with them, in the same step: a sweep runs this once per topic of the incarnation
  (seal-2.lua), and running it again changes nothing. Entries of a later incarnation (the node
  registered again) stay. Every key and the channel are in the topic's slot.

  The caller read the entries first and passes a `presence.leave` message for each of their users;
  should an entry of a user without one have been recorded since (a late join of the incarnation),
  nothing is changed and -1 is returned for the caller to read again.

  KEYS[1]   the node's entries on the topic: connection id -> `{user id}\n{org id}\n{incarnation}`
  KEYS[2]   the node's fence on the topic
  KEYS[3]   the topic's counts hash
  KEYS[4]   the topic's since hash
  KEYS[5]   the topic's metadata hash (the removed connections' goes with them)
  ARGV[1]   the incarnation
  ARGV[2]   how long the fence lasts, ms
  ARGV[3]   "1": SPUBLISH, "0": PUBLISH
  ARGV[4]   channel of the `presence.leave` broadcasts
  ARGV[5..] user id, message pairs: the `presence.leave` broadcast of each user

  Returns { 1, user ids announced... }, or { -1 } when a user has no message.
]]
--@include "publishTo"
local incarnation = tonumber(ARGV[1])
local messages = {}
for i = 5, #ARGV, 2 do
  messages[ARGV[i]] = ARGV[i + 1]
end

local doomed = {}
local entries = redis.call("HGETALL", KEYS[1])
for i = 1, #entries, 2 do
  local user, was = string.match(entries[i + 1], "^(.-)\n.*\n(%d+)$")
  if tonumber(was) <= incarnation then
    if not messages[user] then
      return { -1 }
    end
    table.insert(doomed, { entries[i], user })
  end
end

local fence = redis.call("GET", KEYS[2])
if not fence or tonumber(fence) < incarnation then
  redis.call("SET", KEYS[2], ARGV[1], "PX", ARGV[2])
end
local result = { 1 }
for _, entry in ipairs(doomed) do
  local connection, user = entry[1], entry[2]
  redis.call("HDEL", KEYS[1], connection)
  redis.call("HDEL", KEYS[5], connection)
  if redis.call("HINCRBY", KEYS[3], user, -1) <= 0 then
    redis.call("HDEL", KEYS[3], user)
    redis.call("HDEL", KEYS[4], user)
    publishTo(ARGV[3], ARGV[4], messages[user])
    table.insert(result, user)
  end
end
return result
