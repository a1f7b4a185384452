-- Redis's clock: seconds, microseconds, and epoch milliseconds (the one clock of every script).
local function redisTime()
  local time = redis.call("TIME")
  local seconds, micros = tonumber(time[1]), tonumber(time[2])
  return seconds, micros, seconds * 1000 + math.floor(micros / 1000)
end
