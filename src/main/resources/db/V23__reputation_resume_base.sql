-- A resume (an admin re-enabling sending) starts a fresh reputation window at reputation_since. The 5-minute bucket
-- it falls in also holds what came before it: its counts at the moment of the resume are kept here and taken off
-- that bucket's, so that the rest of the bucket counts and what led to the pause does not count twice.
ALTER TABLE accounts ADD COLUMN reputation_base_sent bigint NOT NULL DEFAULT 0,
  ADD COLUMN reputation_base_hard_bounces bigint NOT NULL DEFAULT 0,
  ADD COLUMN reputation_base_complaints bigint NOT NULL DEFAULT 0;
-- An account resumed before this migration: the window left its resume's whole bucket out; the base is that bucket,
-- so that nothing of it counts now either.
UPDATE accounts a SET reputation_base_sent = b.sent, reputation_base_hard_bounces = b.hard_bounces,
  reputation_base_complaints = b.complaints
FROM reputation_buckets b
WHERE b.account_id = a.id AND a.reputation_since > '-infinity'
  AND b.bucket = to_timestamp(floor(extract(epoch FROM a.reputation_since) / 300) * 300);
