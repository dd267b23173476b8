-- An admin changed a loaded sale's stock: stock left and total move by the same amount
-- (down only before the sale opens, when nothing has been sold).
-- KEYS[1] the sale hash; ARGV[1] units added (negative: removed)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
redis.call('HINCRBY', KEYS[1], 'total', ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'stock', ARGV[1])
