-- Seeds an account's rolling 24-hour count (the quota hash of send_limits.lua) from what PostgreSQL recorded, when
-- Redis no longer holds it. Only if it is still missing: another node may have seeded it, and counted sends since.
-- KEYS[1] quota hash {total, oldest, <bucket>=count}
-- ARGV: bucket, count, bucket, count ... (buckets are epoch seconds / 300; those past 24 hours are left out)
-- Returns 1 when seeded, 0 when the hash was there.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local t = redis.call('TIME')
local bucket = math.floor(tonumber(t[1]) / 300)
local first_valid = bucket - 288
local total = 0
for i = 1, #ARGV, 2 do
  local b = tonumber(ARGV[i])
  local n = tonumber(ARGV[i + 1])
  if b >= first_valid and b <= bucket and n > 0 then
    redis.call('HINCRBY', KEYS[1], b, n)
    total = total + n
  end
end
redis.call('HSET', KEYS[1], 'total', total, 'oldest', first_valid)
redis.call('EXPIRE', KEYS[1], 90000)
return 1
