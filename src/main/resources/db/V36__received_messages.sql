-- SES v1 SendBounce: what it needs of each message an account received, for as long as it may bounce it (24 hours;
-- the retention sweep deletes older rows whatever retention.days says): the envelope sender the bounce goes to
-- ('' for a null reverse-path, which is never bounced), the account's recipients of it (those its rules accepted),
-- and the header section the bounce quotes (text/rfc822-headers), Mailgate's Return-Path and Received first.
CREATE TABLE received_messages (
  account_id   text NOT NULL REFERENCES accounts(id),
  message_id   text NOT NULL,
  reverse_path text NOT NULL,
  recipients   text[] NOT NULL,
  headers      bytea NOT NULL,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (account_id, message_id)
);
CREATE INDEX received_messages_received ON received_messages (received_at);
