-- Email receiving (SES v1 receipt rules): each account's rule sets, one of them active, their rules in order, the
-- account's IP address filters, the messages its S3 actions stored, and an outbox of the notifications its rules'
-- SNS topics (webhooks) are owed. A received message is stored and its notifications queued in the transaction that
-- precedes the 250 to the sending server.
CREATE TABLE receipt_rule_sets (
  account_id  text NOT NULL REFERENCES accounts(id),
  name        text NOT NULL,
  active      boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, name)
);
CREATE UNIQUE INDEX receipt_rule_sets_active ON receipt_rule_sets (account_id) WHERE active;
-- who receives for an address: its identities (the address, its domain and parent domains) of any account
CREATE INDEX identities_by_name ON identities (identity) WHERE verification_status = 'SUCCESS';

CREATE TABLE receipt_rules (
  account_id   text NOT NULL,
  rule_set     text NOT NULL,
  name         text NOT NULL,
  position     integer NOT NULL,           -- 0-based order within the set, dense
  enabled      boolean NOT NULL,
  tls_policy   text NOT NULL,              -- Optional, Require
  recipients   text[] NOT NULL,            -- addresses, domains, .domains (subdomains); empty: every recipient
  actions      jsonb NOT NULL,             -- SES's action structures, in order: [{"S3Action": {...}}, ...]
  scan_enabled boolean NOT NULL,
  PRIMARY KEY (account_id, rule_set, name),
  FOREIGN KEY (account_id, rule_set) REFERENCES receipt_rule_sets (account_id, name) ON DELETE CASCADE
);

CREATE TABLE receipt_filters (
  account_id  text NOT NULL REFERENCES accounts(id),
  name        text NOT NULL,
  policy      text NOT NULL,               -- Block, Allow
  cidr        cidr NOT NULL,
  PRIMARY KEY (account_id, name)
);

-- What S3 actions stored: the message as received (with the headers earlier actions added), under the bucket and key
-- the action named (ObjectKeyPrefix + messageId, as SES writes them).
CREATE TABLE received_objects (
  account_id  text NOT NULL REFERENCES accounts(id),
  bucket      text NOT NULL,
  object_key  text NOT NULL,
  message_id  text NOT NULL,
  content     bytea NOT NULL,
  created_at  timestamptz NOT NULL,
  etag        text GENERATED ALWAYS AS (md5(content)) STORED, -- the S3 ETag: HEAD and listings read no content
  PRIMARY KEY (account_id, bucket, object_key)
);
DO $$
BEGIN
  ALTER TABLE received_objects ALTER COLUMN content SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR syntax_error THEN
  RAISE NOTICE 'lz4 is not available: received content stays compressed with pglz';
END $$;

-- Receipt notifications (SNS actions, and the TopicArn of the other actions) still to be posted; deleted once the
-- webhook answered 2xx, or given up after events.maxAgeHours.
CREATE TABLE receipt_outbox (
  id              bigserial PRIMARY KEY,
  account_id      text NOT NULL,
  url             text NOT NULL,
  message_id      text NOT NULL,
  body            text NOT NULL,           -- the notification JSON, as posted
  created_at      timestamptz NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,    -- also the lease of a claimed row
  last_error      text
);
CREATE INDEX receipt_outbox_due ON receipt_outbox (next_attempt_at);
