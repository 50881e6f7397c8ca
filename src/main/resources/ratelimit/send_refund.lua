-- Gives back what send_limits.lua counted for a send that was then not accepted (its message could not be stored, or
-- grew past the size limit once its links were tracked): SES counts sent mail, not refused requests, and a client
-- retrying a 503 must not spend its quota on each try. The count goes back out of the newest five-minute buckets that
-- hold it (the send was counted a moment ago, usually: the current bucket, or the one before when a boundary passed;
-- but a commit that waited on a stalled database, or a check whose answer came after its timeout, is older), never
-- below zero; the rate tokens go back into the bucket, never above a full one.
-- KEYS[1] bucket hash {tokens, ts}; KEYS[2] quota hash {total, oldest, <bucket>=count}
-- ARGV: rate (per second), rate cost, quota cost
local t = redis.call('TIME')
local sec = tonumber(t[1])
local rate = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local qcost = tonumber(ARGV[3])

local q = KEYS[2]
local bucket = math.floor(sec / 300)
local left = qcost
local oldest = tonumber(redis.call('HGET', q, 'oldest') or bucket)
local b = bucket
while left > 0 and b >= oldest do
  local v = tonumber(redis.call('HGET', q, b) or 0)
  local back = math.min(v, left)
  if back > 0 then
    redis.call('HINCRBY', q, b, -back)
    redis.call('HINCRBY', q, 'total', -back)
    left = left - back
  end
  b = b - 1
end

local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or 'nil')
if tokens ~= nil and cost > 0 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(math.min(rate, tokens + cost)))
end
return qcost - left
