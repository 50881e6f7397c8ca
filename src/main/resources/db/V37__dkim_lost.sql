-- When a domain's DKIM record, once found, went missing for good (TEMPORARY_FAILURE, then FAILED): receiving stops
-- for it then (its owner may have changed), until the record is found again. A DKIM record never found (PENDING, then
-- FAILED after the verification window) says nothing of that: a domain verified by its _amazonses token (SES v1's
-- VerifyDomainIdentity, the usual receiving setup) keeps receiving. Of the rows FAILED already, those whose wait began
-- well after their key was made are taken as lost (a record never found waited from its key's making; one lost, from
-- the check that missed it).
ALTER TABLE identities ADD COLUMN dkim_lost_at timestamptz;
UPDATE identities SET dkim_lost_at = now()
WHERE dkim_status = 'FAILED'
  AND (dkim_pending_since IS NULL OR dkim_key_created_at IS NULL
       OR dkim_pending_since > dkim_key_created_at + interval '1 hour');
