-- Delivery engine: VERP return paths and retries.
-- verp_domain: when set, each recipient's envelope sender is <VERP token>@verp_domain, so a
-- bounce names its message and recipient; envelope_from stays the sender without VERP.
ALTER TABLE messages ADD COLUMN verp_domain text;
-- The last attempt's outcome kept for the status API and the next retry's backoff.
ALTER TABLE recipients ADD COLUMN last_attempt_at timestamptz;
