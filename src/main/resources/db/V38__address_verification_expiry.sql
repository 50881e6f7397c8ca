-- When the last verification link an email address identity was sent stops working: SES marks an address FAILED when
-- nobody follows its link within that time, and sends a new one when asked to verify it again (then PENDING again).
-- The status is read as FAILED past it; the stored status stays PENDING. Rows from before have none: they stay PENDING.
ALTER TABLE identities ADD COLUMN verification_expires_at timestamptz;
