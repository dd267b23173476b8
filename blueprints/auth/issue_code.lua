-- Issue a verification code, atomically: the requester's cooldown and caps for
-- this target, the target's ceiling over all requesters, the proof of work a hot
-- target or client needs, the daily spending budget; then store the code's
-- digest and queue its send in the outbox, so a code is never stored without
-- its send or the reverse.
-- KEYS[1] code hash (digest, attempts, expires_at) for one target, purpose and holder
-- KEYS[2] this requester's sends to this target: a sorted set scored by time
-- KEYS[3] the channel's spending counter for the day
-- KEYS[4] the outbox stream of sends waiting for a dispatcher
-- KEYS[5] the flag "a dispatcher has been asked for", so only one request asks
-- KEYS[6] the send task's owner record (see blueprints/jobs), written if ARGV[14] ~= ''
-- KEYS[7] every requester's sends to this target
-- KEYS[8] this requester's sends to any target
-- ARGV: now, digest, ttl, cooldown, per_window, window (s), budget (0: none), nonce,
--       task_id, channel, target, sealed code, purpose, owner, owner ttl,
--       target_per_day, challenge_target, challenge_client, trusted, proven, holder,
--       locale (the language the mail or SMS speaks)
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[3])
local cooldown = tonumber(ARGV[4])
local per_window = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local budget = tonumber(ARGV[7])
local target_per_day = tonumber(ARGV[16])
local trusted = ARGV[19] == '1'
local proven = ARGV[20] == '1'

local logs = {KEYS[2], KEYS[7], KEYS[8]}
for _, log in ipairs(logs) do
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - 86400)
end
local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if last[2] and now - tonumber(last[2]) < cooldown then
  return {'cooldown', math.ceil(tonumber(last[2]) + cooldown - now)}
end
-- A window, not a day: a requester's refusal lasts one window at most, so a
-- stranger on the owner's IP (an office, a campus NAT) cannot hold a new device
-- of the owner's up for longer; the day's bill is bounded per target below.
local recent = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (now - window), '+inf', 'WITHSCORES')
if #recent / 2 >= per_window then
  return {'too_many_codes', math.ceil(tonumber(recent[2]) + window - now)}
end
-- A device that has logged in to this target before skips the target's ceiling
-- and the proof of work: strangers hammering the target cannot lock its owner out.
if not trusted then
  if redis.call('ZCARD', KEYS[7]) >= target_per_day then
    local oldest = redis.call('ZRANGE', KEYS[7], 0, 0, 'WITHSCORES')
    return {'target_limit', math.ceil(tonumber(oldest[2]) + 86400 - now)}
  end
  local since = '(' .. (now - 3600)
  if not proven and (
      redis.call('ZCOUNT', KEYS[7], since, '+inf') >= tonumber(ARGV[17]) or
      redis.call('ZCOUNT', KEYS[8], since, '+inf') >= tonumber(ARGV[18])) then
    return {'challenge', 0}
  end
end
if budget > 0 then
  if tonumber(redis.call('GET', KEYS[3]) or '0') >= budget then
    return {'budget_exhausted', 3600}
  end
  redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], 172800)
end

for _, log in ipairs(logs) do
  redis.call('ZADD', log, now, ARGV[8])
  redis.call('EXPIRE', log, 86400)
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'digest', ARGV[2], 'attempts', 0, 'expires_at', now + ttl)
redis.call('EXPIRE', KEYS[1], ttl + 60)
redis.call('XADD', KEYS[4], '*', 'task_id', ARGV[9], 'channel', ARGV[10], 'target', ARGV[11],
           'sealed', ARGV[12], 'purpose', ARGV[13], 'holder', ARGV[21], 'locale', ARGV[22])
if ARGV[14] ~= '' then
  redis.call('SET', KEYS[6], ARGV[14], 'EX', ARGV[15])
end
local kick = redis.call('SET', KEYS[5], '1', 'NX', 'EX', 10) and 1 or 0
return {'ok', cooldown, kick}
