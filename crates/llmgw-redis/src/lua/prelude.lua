-- Shared by every counter script. A key's counters are one hash:
--   w:<window id>:s / w:<window id>:r   spent / reserved nano-dollars in a budget window
--   b:<kind>:l / b:<kind>:t             token-bucket level (units x 60000) / its time (ms)
-- Numbers are Lua doubles: exact below 2^53, which the caller keeps them under.
local SAT = 9007199254740991
local SCALE = 60000

local function num(v)
  if v then return tonumber(v) or 0 end
  return 0
end

local function put(key, field, x)
  redis.call('HSET', key, field, string.format('%.0f', x))
end

-- Make the key live at least ttl_ms more; never shortens its life.
local function keep(key, ttl_ms)
  local cur = redis.call('PTTL', key)
  if cur < 0 or cur < ttl_ms then
    redis.call('PEXPIRE', key, string.format('%.0f', ttl_ms))
  end
end

-- A bucket refilled up to now_ms (a missing bucket is full); returns level and time.
local function bucket(key, kind, per_ms, now)
  local cap = per_ms * SCALE
  local level = redis.call('HGET', key, 'b:' .. kind .. ':l')
  local at
  if level then
    level = tonumber(level) or cap
    at = num(redis.call('HGET', key, 'b:' .. kind .. ':t'))
  else
    level = cap
    at = now
  end
  local elapsed = math.max(0, now - at)
  level = math.min(cap, level + elapsed * per_ms)
  -- A clock that went backwards does not move the bucket's time back.
  return level, math.max(at, now)
end

-- Saves a bucket and keeps the key until the bucket would be full again (a full bucket is
-- the same as a missing one), plus a minute for clocks that disagree.
local function save_bucket(key, kind, per_ms, level, at)
  put(key, 'b:' .. kind .. ':l', level)
  put(key, 'b:' .. kind .. ':t', at)
  local p = math.max(per_ms, 1)
  keep(key, math.ceil(math.max(0, per_ms * SCALE - level) / p) + 60000)
end
