-- KEYS[1]: the key's counters. ARGV: kind, rate per minute, units, now_ms.
-- Returns 0 when the units were taken, else milliseconds until they are there.
local key = KEYS[1]
local kind = ARGV[1]
local per_ms = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local level, at = bucket(key, kind, per_ms, now)
-- A request larger than the whole allowance passes when the bucket is full.
local needed = math.min(n * SCALE, per_ms * SCALE)
local wait = 0
if level >= needed then
  level = level - n * SCALE
else
  local p = math.max(per_ms, 1)
  wait = math.max(1, math.floor((needed - level + p - 1) / p))
end
save_bucket(key, kind, per_ms, level, at)
return wait
