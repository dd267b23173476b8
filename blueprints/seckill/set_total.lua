-- Bring a loaded sale's total to the database's: stock left moves by the change, so
-- the units already taken stay taken. Setting the same total again changes nothing.
-- KEYS[1] the sale hash; ARGV[1] the total the database holds
-- Returns {'not_loaded'}, {'below_taken', units taken} (nothing changed), or
-- {'ok', stock left, units the total moved by}.
local sale = redis.call('HMGET', KEYS[1], 'stock', 'total')
if not sale[1] then
  return {'not_loaded'}
end
local stock, total, wanted = tonumber(sale[1]), tonumber(sale[2]), tonumber(ARGV[1])
local taken = total - stock
if wanted < taken then
  return {'below_taken', taken}
end
if wanted ~= total then
  redis.call('HSET', KEYS[1], 'stock', wanted - taken, 'total', wanted)
end
return {'ok', wanted - taken, wanted - total}
