-- Holds on to, or gives up, the lock of a count of the last day's sends (SendLimiter.restoreCounts), only while the
-- lock is still its holder's: a count whose lock ran out (a statement that waited past it) must not hold on to, nor
-- delete, the lock another node took meanwhile.
-- KEYS[1]: the lock; ARGV[1]: its holder's token; ARGV[2]: milliseconds to hold it for, 0 to give it up.
-- Returns 1 when done, 0 when the lock is not (or no longer) the holder's.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '0' then
  return redis.call('DEL', KEYS[1])
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
