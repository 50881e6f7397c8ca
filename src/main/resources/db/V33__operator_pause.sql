-- Who paused an account's sending, where it matters: paused_by_operator is true while an operator's pause (mailgate
-- admin account set <id> --sending false) holds. As with a pause AWS imposes in SES, the owner's
-- PutAccountSendingAttributes / UpdateAccountSendingEnabled cannot lift it and GetAccount shows EnforcementStatus
-- SHUTDOWN meanwhile; only the operator's --sending true does. The check holds it whatever writes the row: an operator's
-- pause never leaves the account sending. An account paused before this is taken as paused by its owner (nothing
-- recorded who). (A catalog change and a scan of accounts; as V19's, it gives up after 10 s rather than queue behind a
-- long reader, and the node's next start tries again.)
SET LOCAL lock_timeout = '10s';
ALTER TABLE accounts ADD COLUMN paused_by_operator boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT accounts_operator_pause_holds CHECK (NOT (paused_by_operator AND sending_enabled));
