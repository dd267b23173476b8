-- Take the lease if free, or renew it if ARGV[1] holds it; 1 if held.
-- KEYS[1] the lease; ARGV[1] this beat's token; ARGV[2] the lease in ms.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
