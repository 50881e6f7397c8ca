-- Accounts (tenants) and their access keys.
CREATE TABLE accounts (
  id                text PRIMARY KEY,
  name              text NOT NULL UNIQUE,
  max_send_rate     double precision NOT NULL,
  max_24h_send      bigint NOT NULL,
  sending_enabled   boolean NOT NULL DEFAULT true,
  production_access boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE access_keys (
  access_key_id text PRIMARY KEY,
  account_id    text NOT NULL REFERENCES accounts(id),
  secret        bytea NOT NULL,             -- AES-GCM under the master key, never plain
  enabled       boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per accepted message; content is the exact bytes that are delivered.
-- Rows of messages, recipients and events are written together by one statement, so the three
-- tables need no foreign keys between them (which would cost an index probe per row on the hot path).
CREATE TABLE messages (
  id                text PRIMARY KEY,
  account_id        text NOT NULL,
  source            text NOT NULL,
  envelope_from     text NOT NULL,
  configuration_set text,
  tags              jsonb NOT NULL DEFAULT '[]',
  content           bytea NOT NULL,
  size              integer NOT NULL,
  created_at        timestamptz NOT NULL,
  source_ip         text,
  caller_identity   text
);
CREATE INDEX messages_account_created ON messages (account_id, created_at);

-- The delivery queue: one row per recipient. A node owns a row while lease_until is in the future.
CREATE TABLE recipients (
  message_id      text NOT NULL,
  idx             smallint NOT NULL,
  address         text NOT NULL,
  state           text NOT NULL,            -- queued, delivered, bounced
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  lease_owner     text,
  lease_until     timestamptz,
  smtp_code       integer,
  smtp_reply      text,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (message_id, idx)
);
CREATE INDEX recipients_queue ON recipients (next_attempt_at) WHERE state = 'queued';

-- Events in SES's model; detail is the event-type object (delivery, bounce, ...), the mail object
-- is rendered from the message when the event is read.
CREATE TABLE events (
  id         bigserial PRIMARY KEY,
  message_id text NOT NULL,
  account_id text NOT NULL,
  type       text NOT NULL,
  recipient  text,
  detail     jsonb NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX events_message ON events (message_id);
