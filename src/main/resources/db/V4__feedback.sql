-- Feedback: suppression lists, inbound reports, reputation.

-- SES's account-level suppression list. New accounts suppress on bounces and complaints.
ALTER TABLE accounts ADD COLUMN suppressed_reasons text[] NOT NULL DEFAULT '{BOUNCE,COMPLAINT}';
-- HEALTHY, PROBATION (warning), SHUTDOWN (sending paused by reputation)
ALTER TABLE accounts ADD COLUMN enforcement_status text NOT NULL DEFAULT 'HEALTHY';
ALTER TABLE accounts ADD COLUMN reputation jsonb;
-- reputation counts from here on (an admin resuming a paused account starts a fresh window)
ALTER TABLE accounts ADD COLUMN reputation_since timestamptz NOT NULL DEFAULT '-infinity';

CREATE TABLE suppressed_destinations (
  account_id  text NOT NULL,
  email       text NOT NULL,                 -- lower case
  reason      text NOT NULL,                 -- BOUNCE, COMPLAINT
  message_id  text,
  feedback_id text,
  last_update timestamptz NOT NULL,
  PRIMARY KEY (account_id, email)
);
CREATE INDEX suppressed_destinations_time ON suppressed_destinations (account_id, last_update, email);

-- Addresses that hard-bounced for any account recently: sends to them bounce as Suppressed.
CREATE TABLE global_suppression (
  email        text PRIMARY KEY,
  last_bounce  timestamptz NOT NULL,
  bounces      integer NOT NULL DEFAULT 1,
  message_id   text
);

-- Bounces, complaints and auto-replies received by the inbound SMTP server. Those that could not
-- be tied to a message are kept for inspection (attributed = false), never dropped.
CREATE TABLE inbound_feedback (
  id           bigserial PRIMARY KEY,
  received_at  timestamptz NOT NULL,
  mail_from    text,
  rcpt_to      text,
  kind         text NOT NULL,               -- DSN, ARF, NON_STANDARD_BOUNCE, AUTO_REPLY, UNKNOWN
  attributed   boolean NOT NULL,
  message_id   text,
  account_id   text,
  note         text,
  content      bytea NOT NULL
);
CREATE INDEX inbound_feedback_unattributed ON inbound_feedback (received_at) WHERE NOT attributed;

-- Reputation: per account, per five minutes, what counts toward bounce and complaint rates.
CREATE TABLE reputation_buckets (
  account_id   text NOT NULL,
  bucket       timestamptz NOT NULL,
  sent         integer NOT NULL DEFAULT 0,   -- recipients that reached an end: delivered or bounced
  hard_bounces integer NOT NULL DEFAULT 0,
  complaints   integer NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, bucket)
);
CREATE INDEX reputation_buckets_time ON reputation_buckets (bucket);
