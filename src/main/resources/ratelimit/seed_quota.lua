-- Counts an account's last day of sends again in the quota hash of send_limits.lua, from what PostgreSQL recorded,
-- after Redis lost its counts. Only if the hash has no count: a send of an unlimited account may have started one
-- since (an unlimited account is decided without a count), and that one is kept.
-- KEYS[1] quota hash {total, oldest, <bucket>=count}
-- ARGV: bucket, count, bucket, count ... (buckets are epoch seconds / 300; those past 24 hours are left out, those
-- ahead of this Redis's clock (a node's clock ahead of it) go in the current one)
-- Returns 1 when counted, 0 when the hash had a count.
if redis.call('HEXISTS', KEYS[1], 'total') == 1 then
  return 0
end
local t = redis.call('TIME')
local bucket = math.floor(tonumber(t[1]) / 300)
local first_valid = bucket - 288
local total = 0
for i = 1, #ARGV, 2 do
  local b = math.min(tonumber(ARGV[i]), bucket)
  local n = tonumber(ARGV[i + 1])
  if b >= first_valid and n > 0 then
    redis.call('HINCRBY', KEYS[1], b, n)
    total = total + n
  end
end
redis.call('HSET', KEYS[1], 'total', total, 'oldest', first_valid)
redis.call('EXPIRE', KEYS[1], 90000)
return 1
