-- Writes `offset` and `epoch` into a broadcast's placeholders: the envelope's `offset` as a float64
-- at the 1-based position `at`, then the key "epoch" with its str16 header (7 bytes, kept), then the
-- 16-byte epoch (see the broadcast encoder). Returns the message as written.
local function placeOffset(message, at, offset, epoch)
  return string.sub(message, 1, at - 1) .. struct.pack(">d", offset) .. string.sub(message, at + 8, at + 14) .. epoch ..
    string.sub(message, at + 31)
end
