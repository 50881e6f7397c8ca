-- When a domain's DKIM record, once found, went missing for good (TEMPORARY_FAILURE, then FAILED): receiving stops
-- for it then (its owner may have changed). A DKIM record never found (PENDING, then FAILED after the verification
-- window) says nothing of that: a domain verified by its _amazonses token (SES v1's VerifyDomainIdentity, the usual
-- receiving setup) keeps receiving. Rows already FAILED are taken as lost, as they were read before.
ALTER TABLE identities ADD COLUMN dkim_lost_at timestamptz;
UPDATE identities SET dkim_lost_at = now() WHERE dkim_status = 'FAILED';
