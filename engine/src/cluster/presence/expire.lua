-- A subject's grace period is over: offline, unless a connection opened
-- anywhere since (contract §9.2). Atomic: one node sees the change.
-- KEYS[1] the subject's hash, KEYS[2] the sorted set of deadlines (ms)
-- ARGV: member, now (ms)
-- Returns nil, or {'offline', seen, bot}.
local h, due, member = KEYS[1], KEYS[2], ARGV[1]
local score = redis.call('ZSCORE', due, member)
if not score or tonumber(score) > tonumber(ARGV[2]) then
  return false
end
redis.call('ZREM', due, member)
local all = redis.call('HGETALL', h)
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'n:' then
    return false
  end
end
local status = redis.call('HGET', h, 'status')
if not status or status == 'offline' then
  return false
end
redis.call('HSET', h, 'status', 'offline')
return {'offline', redis.call('HGET', h, 'seen') or '0', redis.call('HGET', h, 'bot') or ''}
