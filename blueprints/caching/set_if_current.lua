-- Store a rebuilt cache entry only if no write invalidated it meanwhile.
-- KEYS[1] the entry, KEYS[2] its generation token, KEYS[3] its rebuild lock
-- ARGV: entry, the generation read before loading ('' if none), ttl seconds, lock token
-- A writer replaces the generation after its commit; a reader that loaded
-- rows before that commit carries the old token and is turned away here.
local stored = 0
if (redis.call('GET', KEYS[2]) or '') == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  stored = 1
end
if redis.call('GET', KEYS[3]) == ARGV[4] then
  redis.call('DEL', KEYS[3])
end
return stored
