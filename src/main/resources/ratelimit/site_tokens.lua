-- A destination site's message rate, shared by every node: one token bucket per site, from which
-- a delivery instance takes a small batch of tokens at a time (so a busy site costs a Redis round
-- trip per batch, not per message). The same call reads the site's throttle state, which
-- site_throttle.lua sets when any node got a "slow down" reply: while the site is paused no token
-- is given, and the bucket fills at the configured rate times the shared factor. The successes the
-- caller saw since its last call recover the factor (as SiteState does on one node).
-- KEYS[1] bucket hash {tokens, ts}; KEYS[2] throttle hash {f: factor, r: recovered at, p: paused until}
-- ARGV: rate (the site's configured tokens per second; 0: it has no such limit, and only its throttle state is read
--   and its factor recovered), burst (largest number of tokens held at the full rate),
--   want (tokens asked for), credit (milliseconds of successes the caller saw since its last call, each success
--   counting the time since the one before it, a second at most), recovery (factor regained per second of credit)
-- Returns {granted, waitMs, factor (a string), pausedUntil (ms, 0: not paused)}: granted tokens (0..want); when 0,
-- milliseconds until one is available (until the pause ends, when paused).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local credit = tonumber(ARGV[4])
local recovery = tonumber(ARGV[5])

local s = redis.call('HMGET', KEYS[2], 'f', 'r', 'p')
local factor = tonumber(s[1]) or 1
local recovered = tonumber(s[2]) or 0
local paused = tonumber(s[3]) or 0
if paused <= now then
  paused = 0
end
if factor < 1 and credit > 0 and now > recovered then
  -- the callers' successes count for no more time than has passed since the last that counted: nodes sending
  -- together recover the factor as fast as one node seeing all their successes would, not once each
  factor = math.min(1, factor + recovery * math.min(credit, now - recovered) / 1000)
  recovered = now
  redis.call('HSET', KEYS[2], 'f', tostring(factor), 'r', recovered)
  -- kept for as long as successes coming all the time would take to bring the factor back (and the pause to end)
  redis.call('PEXPIRE', KEYS[2], math.max(1, paused - now) + math.ceil((1 - factor) * 1000 / recovery))
end
if paused > 0 then
  return {0, paused - now, tostring(factor), paused}
end
if rate <= 0 then
  return {want, 0, tostring(factor), 0} -- a site without a per-second limit: its throttle state only
end

rate = rate * factor
burst = math.max(1, burst * factor)
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
return {granted, wait, tostring(factor), 0}
