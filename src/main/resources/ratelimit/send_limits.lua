-- Per-account send limits in one atomic step: a token bucket for MaxSendRate and a rolling
-- 24-hour counter for Max24HourSend (288 five-minute buckets, expired as time passes).
-- KEYS[1] bucket hash {tokens, ts}; KEYS[2] quota hash {total, oldest, <bucket>=count}
-- ARGV: rate (per second), rate cost, max 24h (-1 = unlimited), quota cost
-- Returns {status, sentLast24h}: 1 allowed, 0 over rate, -1 over quota. Nothing is consumed when refused.
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local max24 = tonumber(ARGV[3])
local qcost = tonumber(ARGV[4])

local bucket = math.floor(sec / 300)
local first_valid = bucket - 287
local q = KEYS[2]
local total = tonumber(redis.call('HGET', q, 'total') or '0')
local oldest = tonumber(redis.call('HGET', q, 'oldest') or bucket)
if oldest < first_valid then
  if first_valid - oldest > 288 then
    redis.call('DEL', q)
    total = 0
  else
    for b = oldest, first_valid - 1 do
      local v = redis.call('HGET', q, b)
      if v then
        total = total - tonumber(v)
        redis.call('HDEL', q, b)
      end
    end
  end
  oldest = first_valid
  redis.call('HSET', q, 'total', total, 'oldest', oldest)
end
if max24 >= 0 and total + qcost > max24 then
  return {-1, total}
end

local burst = rate
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + (now - ts) * rate / 1000000)
-- a message with more recipients than one second's worth may go when the bucket is full: the
-- bucket then goes into debt, so the long-run rate still holds
if tokens < math.min(cost, burst) then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', string.format('%.0f', now))
  redis.call('PEXPIRE', KEYS[1], 60000)
  return {0, total}
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 60000)
if qcost > 0 then
  redis.call('HINCRBY', q, bucket, qcost)
  total = total + qcost
  redis.call('HSET', q, 'total', total, 'oldest', oldest)
  redis.call('EXPIRE', q, 90000)
end
return {1, total}
