-- When a verification email last went to an address, from any account: an address gets at most one per cooldown
-- however often identities for it are created, deleted and created again, or verified again, on any node.
CREATE TABLE verification_emails (
  address text PRIMARY KEY,
  sent_at timestamptz NOT NULL
);
