--[[
  Delivers an event at most once per id within the dedupe window: claims the id and, only when it
  was free, publishes every broadcast of the event. Claim and broadcast are one step, so a producer
  that dies between them cannot leave an id claimed but undelivered, and of several gateways that
  ingest the same event exactly one broadcasts it.

  KEYS[1]   dedupe key of the event id
  ARGV[1]   dedupe window, milliseconds
  ARGV[2..] channel, message pairs: @socket.io/redis-adapter broadcasts, in delivery order

  Returns 1 when published, 0 when the id was seen within the window (nothing published).
]]
if not redis.call("SET", KEYS[1], "1", "NX", "PX", ARGV[1]) then
  return 0
end
for i = 2, #ARGV, 2 do
  redis.call("PUBLISH", ARGV[i], ARGV[i + 1])
end
return 1
