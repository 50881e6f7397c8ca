-- A node got a reply from a destination site that asks us to slow down (a throttle rule matched it): the site's
-- throttle state, which every node reads with its tokens (site_tokens.lua), takes it as SiteState does on one node:
-- the factor times the rule's (no lower than the least factor), the pause until the later of the two ends.
-- KEYS[1] throttle hash {f: factor, r: recovered at, p: paused until}
-- ARGV: factor (the rule's), pause (ms), least factor, recovery (factor regained per second of successes)
-- Returns {factor (a string), pausedUntil (ms, 0: not paused)}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local by = tonumber(ARGV[1])
local pause = tonumber(ARGV[2])
local least = tonumber(ARGV[3])
local recovery = tonumber(ARGV[4])

local s = redis.call('HMGET', KEYS[1], 'f', 'p')
local factor = math.max(least, (tonumber(s[1]) or 1) * by)
local paused = math.max(tonumber(s[2]) or 0, now + pause)
-- recovery counts successes from now on (from after the pause, as the first one after it counts a second at most)
redis.call('HSET', KEYS[1], 'f', tostring(factor), 'r', now, 'p', paused)
-- kept for as long as successes coming all the time would take to bring the factor back once the pause is over:
-- a site no node sends to after its pause is then forgotten, at its full rate again
redis.call('PEXPIRE', KEYS[1], math.max(1, paused - now) + math.ceil((1 - factor) * 1000 / recovery))
if paused <= now then
  paused = 0
end
return {tostring(factor), paused}
