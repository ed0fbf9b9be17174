-- KEYS[1]: the key's counters. ARGV: reserved, actual, ttl_ms, then window ids.
local key = KEYS[1]
local reserved = tonumber(ARGV[1])
local actual = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
for i = 4, #ARGV do
  local rf = 'w:' .. ARGV[i] .. ':r'
  local sf = 'w:' .. ARGV[i] .. ':s'
  put(key, rf, math.max(0, num(redis.call('HGET', key, rf)) - reserved))
  put(key, sf, math.min(SAT, num(redis.call('HGET', key, sf)) + actual))
end
if #ARGV > 3 then
  keep(key, ttl)
end
return 1
