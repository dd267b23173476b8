-- Put one unit back on sale, at most once per order (a redelivered task changes nothing).
-- KEYS[1] the sale hash, KEYS[2] its returned-units set; ARGV[1] the order's reservation id
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 or redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'stock', 1)
return 1
