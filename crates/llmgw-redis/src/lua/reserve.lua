-- KEYS[1]: the key's counters. ARGV: amount, ttl_ms, then per window: id, limit (-1: none).
-- Returns {1} when the amount is now held in every window, else
-- {0, index of the refusing window, its spent, its reserved} and holds nothing.
local key = KEYS[1]
local amount = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local n = (#ARGV - 2) / 2
local ids, limits, listed = {}, {}, {}
for i = 1, n do
  ids[i] = ARGV[1 + 2 * i]
  limits[i] = tonumber(ARGV[2 + 2 * i])
  listed[ids[i]] = true
end
-- Windows not asked about that hold nothing in flight are over: drop them.
local fields = redis.call('HKEYS', key)
local busy = {}
for _, f in ipairs(fields) do
  local id, part = string.match(f, '^w:(.+):([sr])$')
  if id and part == 'r' and not listed[id] and num(redis.call('HGET', key, f)) > 0 then
    busy[id] = true
  end
end
for _, f in ipairs(fields) do
  local id = string.match(f, '^w:(.+):[sr]$')
  if id and not listed[id] and not busy[id] then
    redis.call('HDEL', key, f)
  end
end
for i = 1, n do
  if limits[i] >= 0 then
    local s = num(redis.call('HGET', key, 'w:' .. ids[i] .. ':s'))
    local r = num(redis.call('HGET', key, 'w:' .. ids[i] .. ':r'))
    local fits = math.min(SAT, s + r + amount) <= limits[i]
    local lone = r == 0 and s < limits[i]
    if not (fits or lone) then
      return {0, i, s, r}
    end
  end
end
for i = 1, n do
  local f = 'w:' .. ids[i] .. ':r'
  put(key, f, math.min(SAT, num(redis.call('HGET', key, f)) + amount))
end
if n > 0 then
  keep(key, ttl)
end
return {1}
