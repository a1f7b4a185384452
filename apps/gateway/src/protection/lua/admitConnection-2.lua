--[[
  Admits one connection of a user, cluster-wide: refused when the user's token was issued before a
  revocation of that user, or when the user already holds the maximum of live connections. Entries
  whose expiry passed (their node stopped renewing them: it died) no longer count and are removed.
  Both keys carry the same hash tag (one slot). The entries are only read when there are as many as
  the maximum (HLEN, O(1)): below it the user is admitted whatever their expiries, so a user with
  many connections does not cost a scan of all of them per connect; dead entries are removed by the
  first admission that finds the hash full, and with the key when nothing renews it.

  KEYS[1]  the user's connections hash: connection id -> expiry (epoch ms)
  KEYS[2]  the user's revocation: tokens issued before this (epoch ms) are refused
  ARGV[1]  the connection id
  ARGV[2]  the token's iat in epoch ms, or -1 without one
  ARGV[3]  the most connections the user may hold
  ARGV[4]  entry TTL in ms

  Returns ADMITTED (1), TOO_MANY (0) or REVOKED (-1).
]]
local ADMITTED, TOO_MANY, REVOKED = 1, 0, -1
local before = redis.call("GET", KEYS[2])
if before and tonumber(ARGV[2]) < tonumber(before) then
  return REVOKED
end
--@include "redisTime"
local _, _, now = redisTime()
if redis.call("HLEN", KEYS[1]) >= tonumber(ARGV[3]) then
  local entries = redis.call("HGETALL", KEYS[1])
  local live = 0
  for i = 1, #entries, 2 do
    if tonumber(entries[i + 1]) <= now then
      redis.call("HDEL", KEYS[1], entries[i])
    elseif entries[i] ~= ARGV[1] then
      live = live + 1
    end
  end
  if live >= tonumber(ARGV[3]) then
    return TOO_MANY
  end
end
redis.call("HSET", KEYS[1], ARGV[1], now + tonumber(ARGV[4]))
redis.call("PEXPIRE", KEYS[1], ARGV[4])
return ADMITTED
