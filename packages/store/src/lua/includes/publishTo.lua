-- Publishes a broadcast on its topic's channel: SPUBLISH when `sharded` is "1" (sharded pub/sub; the
-- channel is in the topic's slot), else PUBLISH; nothing for an empty message (silent presence).
local function publishTo(sharded, channel, message)
  if message == "" then
    return
  end
  if sharded == "1" then
    redis.call("SPUBLISH", channel, message)
  else
    redis.call("PUBLISH", channel, message)
  end
end
