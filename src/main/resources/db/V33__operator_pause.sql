-- An operator's pause of an account's sending (mailgate admin account set <id> --sending false), kept apart from the
-- owner's choice (sending_enabled, PutAccountSendingAttributes / UpdateAccountSendingEnabled) and from a reputation
-- shutdown (enforcement_status): the account sends only while none holds (sending_enabled AND NOT paused_by_operator
-- AND enforcement_status <> 'SHUTDOWN'). As with a pause AWS imposes in SES, the owner cannot lift the operator's pause
-- nor a shutdown, and GetAccount shows EnforcementStatus SHUTDOWN for either; only the operator's --sending true does,
-- one at a time, and that leaves the owner's own pause, made before or during them, as it is. An account paused before
-- this is taken as paused by its owner (nothing recorded who), but for one shut down: its reputation check wrote its
-- sending_enabled false, a pause its owner did not make, which would outlast the shutdown. (A catalog change and a scan
-- of accounts; as V19's, it gives up after 10 s rather than queue behind a long reader, and the node's next start tries
-- again.)
SET LOCAL lock_timeout = '10s';
ALTER TABLE accounts ADD COLUMN paused_by_operator boolean NOT NULL DEFAULT false;
UPDATE accounts SET sending_enabled = true WHERE enforcement_status = 'SHUTDOWN' AND NOT sending_enabled;
