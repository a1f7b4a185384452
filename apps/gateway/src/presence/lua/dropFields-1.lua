--[[
  Removes the fields of a hash that start with a prefix: a removed registration's fields in a
  user's presence index (`keys.presenceUser`, fields `{node id}\n{incarnation}\n{room}`). Safe to
  repeat.

  KEYS[1]   the hash
  ARGV[1]   the prefix

  Returns how many fields were removed.
]]
local removed = 0
local prefix = ARGV[1]
for _, field in ipairs(redis.call("HKEYS", KEYS[1])) do
  if string.sub(field, 1, #prefix) == prefix then
    removed = removed + redis.call("HDEL", KEYS[1], field)
  end
end
return removed
