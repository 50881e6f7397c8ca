-- A destination site's message rate, shared by every node: one token bucket per site, from which
-- a delivery instance takes a small batch of tokens at a time (so a busy site costs a Redis round
-- trip per batch, not per message).
-- KEYS[1] bucket hash {tokens, ts}
-- ARGV: rate (tokens per second, > 0), burst (largest number of tokens held), want (tokens asked for)
-- Returns {granted, waitMs}: granted tokens (0..want); when 0, milliseconds until one is available.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])

local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
end
ts = now -- after a clock stepped back: no refill, and none withheld until the clock passes the old ts
tokens = math.min(tokens, burst)

local granted = math.min(want, math.floor(tokens))
local wait = 0
if granted > 0 then
  tokens = tokens - granted
else
  wait = math.max(1, math.ceil((1 - tokens) * 1000 / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', ts)
-- an idle site's bucket is full again after burst / rate seconds: keep it no longer than that
redis.call('PEXPIRE', KEYS[1], math.max(1000, math.ceil(burst * 1000 / rate) * 2))
return {granted, wait}
