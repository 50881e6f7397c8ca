-- Per-account send limits in one atomic step, for one send or a batch of sends of the same account
-- (the node groups the checks that arrive while the previous call for that account is running):
-- a token bucket for MaxSendRate and a rolling 24-hour counter for Max24HourSend (the current
-- five-minute bucket and the 288 before it, expired as time passes: a send counts for 24 hours to
-- 24 hours and 5 minutes, never less). A rate of 0 or below sends nothing. Sends are decided in order, each as if alone.
-- KEYS[1] bucket hash {tokens, ts}; KEYS[2] quota hash {total, oldest, <bucket>=count}; KEYS[3] the marker that this
-- Redis holds every account's counts of the last day (set once they are counted again from PostgreSQL)
-- ARGV: rate (per second), max 24h (-1 = unlimited), then for each send: rate cost, quota cost
-- Returns {status1, sentLast24h1, status2, ...}: 1 allowed, 0 over rate, -1 over quota, and the
-- 24-hour count after that send's decision. Nothing is consumed for a refused send. {-2}: this Redis lost the
-- 24-hour counts (see below), nothing decided.
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1])
local max24 = tonumber(ARGV[2])
local sends = (#ARGV - 2) / 2

local bucket = math.floor(sec / 300)
local first_valid = bucket - 288
local q = KEYS[2]
local known = redis.call('HGET', q, 'total')
local total = 0
if known then
  total = tonumber(known)
elseif max24 >= 0 and redis.call('EXISTS', KEYS[3]) == 0 then
  -- no count, and this Redis does not hold the counts of the last day (it lost its data, or never had them): not
  -- decided, nothing consumed, until the node has counted them again from PostgreSQL (seed_quota.lua, then KEYS[3]
  -- is set). With KEYS[3] there, no count is a new account or one that sent nothing for a day: 0. An unlimited
  -- account needs no count to be decided.
  return {-2}
end
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
  if total > 0 then
    redis.call('HSET', q, 'total', total, 'oldest', oldest)
    redis.call('EXPIRE', q, 90000)
  else -- nothing of the last day left: no count is 0, and a hash written without its expiry would stay for good
    redis.call('DEL', q)
  end
end

local burst = rate
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000000)
end
-- a clock that stepped back (a failover to a replica behind) refills nothing rather than taking tokens away, and
-- refills from now on: a ts kept in the future would refill nothing until the clock caught up with it
ts = now

local out = {}
local added = 0
for i = 1, sends do
  local cost = tonumber(ARGV[1 + 2 * i])
  local qcost = tonumber(ARGV[2 + 2 * i])
  local status
  if max24 >= 0 and total + qcost > max24 then
    status = -1
  -- a message with more recipients than one second's worth may go when the bucket is full: the
  -- bucket then goes into debt, so the long-run rate still holds
  elseif (rate <= 0 and cost > 0) or tokens < math.min(cost, burst) then
    status = 0
  else
    tokens = tokens - cost
    total = total + qcost
    added = added + qcost
    status = 1
  end
  out[2 * i - 1] = status
  out[2 * i] = total
end

redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', string.format('%.0f', ts))
-- kept until it would be full again, and a minute more
local refill_ms = 0
if rate > 0 then
  refill_ms = math.ceil((burst - tokens) / rate * 1000)
end
redis.call('PEXPIRE', KEYS[1], refill_ms + 60000)
if added > 0 then
  redis.call('HINCRBY', q, bucket, added)
  redis.call('HSET', q, 'total', total, 'oldest', oldest)
  redis.call('EXPIRE', q, 90000)
end
return out
