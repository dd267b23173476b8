-- Check a code, atomically, so that it is used at most once and guessed at
-- most max_attempts times.
-- KEYS[1] code hash (digest, attempts, expires_at)
-- ARGV: now, digest of the submitted code, max_attempts
-- Returns {verdict}, or {'wrong', tries left} while the code still works.
local code = redis.call('HMGET', KEYS[1], 'digest', 'attempts', 'expires_at')
if not code[1] then
  return {'missing'}
end
if tonumber(code[3]) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return {'expired'}
end
if code[1] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return {'ok'}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts >= tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[1])
  return {'burned'}
end
return {'wrong', tonumber(ARGV[3]) - attempts}
