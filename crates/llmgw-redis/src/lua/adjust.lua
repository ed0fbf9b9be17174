-- KEYS[1]: the key's counters. ARGV: kind, rate per minute, delta units, now_ms.
-- Takes delta more units (positive) or gives -delta back, never above capacity.
local key = KEYS[1]
local kind = ARGV[1]
local per_ms = tonumber(ARGV[2])
local delta = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local level, at = bucket(key, kind, per_ms, now)
level = math.min(per_ms * SCALE, level - delta * SCALE)
save_bucket(key, kind, per_ms, level, at)
return 1
