--[[
  One GCRA step for a user's client publications (see publish-rate.ts `gcra`, the same arithmetic):
  each unit of cost moves the user's theoretical arrival time (TAT) by one emission interval; the
  publication is allowed while the TAT stays within `burst` intervals of now. The key expires when
  the allowance is full again, so idle users cost nothing.

  KEYS[1]  the user's rate key (TAT, epoch ms with fractions)
  ARGV[1]  emission interval, ms (1000 / rate)
  ARGV[2]  burst
  ARGV[3]  cost (1 durable, 0.1 ephemeral)
  Returns -1 when allowed, else how long until it would be, ms (>= 1).
]]
--@include "redisTime"
local _, _, nowMs = redisTime()
local interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call("GET", KEYS[1]) or "0")
if tat < nowMs then tat = nowMs end
local nextTat = tat + cost * interval
local limit = nowMs + burst * interval
if nextTat > limit then
  return math.max(1, math.ceil(nextTat - limit))
end
redis.call("SET", KEYS[1], string.format("%.3f", nextTat), "PX", math.max(1, math.ceil(nextTat - nowMs)))
return -1
