-- The offset a store-and-forward cursor (`<epoch>:<offset>`, or nil) holds in `epoch`: 0 when there
-- is none or it belongs to another epoch.
local function cursorOffset(cursor, epoch)
  if not cursor then return 0 end
  local cursorEpoch, offset = string.match(cursor, "^(.+):(%d+)$")
  if cursorEpoch == epoch then return tonumber(offset) end
  return 0
end
