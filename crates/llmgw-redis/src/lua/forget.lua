-- KEYS[1]: the key's counters. Drops them all.
return redis.call('DEL', KEYS[1])
