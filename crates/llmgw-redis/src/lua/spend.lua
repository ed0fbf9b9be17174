-- KEYS[1]: the key's counters. ARGV[1]: window id. Returns {spent, reserved}.
local key = KEYS[1]
return {
  num(redis.call('HGET', key, 'w:' .. ARGV[1] .. ':s')),
  num(redis.call('HGET', key, 'w:' .. ARGV[1] .. ':r')),
}
