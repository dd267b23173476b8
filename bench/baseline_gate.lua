-- The gate as it was before the Sentinel work (commit 2075d01), kept for
-- bench_replicated_gate.py to measure the fence and WAIT against.
-- The flash-sale gate: window, previous purchase, stock, then the reservation, atomically.
-- KEYS[1] the sale (hash: stock, total, starts_at, ends_at, status, price_cents)
-- KEYS[2] its buyers (hash: user id -> seckill id)
-- KEYS[3] the reservation stream the order workers drain
-- KEYS[4] the reservation's result (hash: state, ...)
-- KEYS[5] the flag "an order drain has been asked for", so only one request asks
-- KEYS[6] the buyer's live login sessions (sorted set of session ids)
-- ARGV: user id, seckill id, now (epoch seconds), result ttl, activity id, max pending,
--       session id ('' to skip the session check)
if ARGV[7] ~= '' and not redis.call('ZSCORE', KEYS[6], ARGV[7]) then
  return {'logged_out'}
end
local sale = redis.call('HMGET', KEYS[1], 'stock', 'starts_at', 'ends_at', 'status', 'price_cents')
if not sale[1] then
  return {'not_loaded'}
end
local now = tonumber(ARGV[3])
if sale[4] ~= 'active' or now >= tonumber(sale[3]) then
  return {'closed'}
end
if now < tonumber(sale[2]) then
  return {'not_started', sale[2]}
end
-- Before the stock: a second click never takes a second unit.
local previous = redis.call('HGET', KEYS[2], ARGV[1])
if previous then
  return {'duplicate', previous}
end
if tonumber(sale[1]) <= 0 then
  return {'sold_out'}
end
if redis.call('XLEN', KEYS[3]) >= tonumber(ARGV[6]) then
  return {'busy'}
end
local left = redis.call('HINCRBY', KEYS[1], 'stock', -1)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[3], '*', 'activity', ARGV[5], 'user', ARGV[1], 'seckill_id', ARGV[2],
           'price_cents', sale[5], 'at', ARGV[3])
redis.call('HSET', KEYS[4], 'state', 'queued', 'activity', ARGV[5], 'user', ARGV[1])
redis.call('EXPIRE', KEYS[4], ARGV[4])
local kick = redis.call('SET', KEYS[5], '1', 'NX', 'EX', 10) and 1 or 0
return {'ok', left, kick}
