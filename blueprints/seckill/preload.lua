-- Load a sale into Redis; idempotent, and it never resets stock already being sold.
-- KEYS[1] the sale hash, KEYS[2] its buyers, KEYS[3] its returned-units set
-- ARGV: stock when first loaded, total, starts_at, ends_at, status, price_cents, expire_at
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'stock', ARGV[1], 'total', ARGV[2])
end
redis.call('HSET', KEYS[1], 'starts_at', ARGV[3], 'ends_at', ARGV[4], 'status', ARGV[5],
           'price_cents', ARGV[6])
for i = 1, 3 do
  redis.call('EXPIREAT', KEYS[i], ARGV[7])
end
return tonumber(redis.call('HGET', KEYS[1], 'stock'))
