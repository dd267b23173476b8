-- Take units off sale that the database does not back (the reconciliation found them).
-- KEYS[1] the sale hash; ARGV[1] how many at most. Returns how many were taken back.
local left = tonumber(redis.call('HGET', KEYS[1], 'stock'))
if not left then
  return 0
end
local taken = math.min(left, tonumber(ARGV[1]))
if taken > 0 then
  redis.call('HINCRBY', KEYS[1], 'stock', -taken)
end
return taken
