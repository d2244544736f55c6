-- One node's share of a subject's presence (contract §9.2), and the status it
-- makes across the nodes. Atomic, so exactly one caller sees each change.
-- KEYS[1] the subject's hash: `n:<node>` → online|away per node with an open
--         connection, `status`, `seen` (µs), `bot`
-- KEYS[2] the sorted set of subjects waiting to go offline (score: deadline, ms)
-- KEYS[3] the node's set of subjects it holds a share of
-- ARGV: node, share (online|away|none), now (µs), deadline (ms: now + grace),
--       member (the subject's name), bot ('' keeps the stored one), keep (ms)
-- Returns nil, or {status, seen, bot} when the status changed.
local h, due, idx = KEYS[1], KEYS[2], KEYS[3]
local node, share, now, deadline = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local member, bot, keep = ARGV[5], ARGV[6], ARGV[7]
local field = 'n:' .. node
local before = redis.call('HGET', h, field)
if share == 'none' then
  redis.call('SREM', idx, member)
  if not before then
    return false
  end
  redis.call('HDEL', h, field)
else
  redis.call('HSET', h, field, share)
  redis.call('SADD', idx, member)
  redis.call('PEXPIRE', idx, keep)
end
if bot ~= '' then
  redis.call('HSET', h, 'bot', bot)
end
redis.call('HSET', h, 'seen', now)
redis.call('PEXPIRE', h, keep)
local any, online = false, false
local all = redis.call('HGETALL', h)
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'n:' then
    any = true
    if all[i + 1] == 'online' then
      online = true
    end
  end
end
if any then
  redis.call('ZREM', due, member)
elseif before then
  -- The last connection anywhere closed: offline after the grace period.
  redis.call('ZADD', due, deadline, member)
end
local status = redis.call('HGET', h, 'status') or 'offline'
local new = status
if online then
  new = 'online'
elseif any then
  new = 'away'
end
if new == status then
  return false
end
redis.call('HSET', h, 'status', new)
return {new, now, redis.call('HGET', h, 'bot') or ''}
