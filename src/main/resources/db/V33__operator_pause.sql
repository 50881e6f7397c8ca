-- An operator's pause of an account's sending (mailgate admin account set <id> --sending false), kept apart from the
-- owner's choice (sending_enabled, PutAccountSendingAttributes / UpdateAccountSendingEnabled): the account sends only
-- while neither holds (sending_enabled AND NOT paused_by_operator). As with a pause AWS imposes in SES, the owner cannot
-- lift it and GetAccount shows EnforcementStatus SHUTDOWN meanwhile; only the operator's --sending true does, and that
-- leaves the owner's own pause, made before or during the operator's, as it is. An account paused before this is taken
-- as paused by its owner (nothing recorded who). (A catalog change; as V19's, it gives up after 10 s rather than queue
-- behind a long reader, and the node's next start tries again.)
SET LOCAL lock_timeout = '10s';
ALTER TABLE accounts ADD COLUMN paused_by_operator boolean NOT NULL DEFAULT false;
