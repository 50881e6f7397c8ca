-- SES v1 SendBounce: what it needs of each message an account received, for as long as it may bounce it (24 hours;
-- the retention sweep deletes older rows whatever retention.days says): the envelope sender the bounce goes to
-- ('' for a null reverse-path, which is never bounced), the account's recipients of it (those its rules accepted),
-- and the header section the bounce quotes (text/rfc822-headers), Mailgate's Return-Path and Received first.
-- Received message ids begin with the time the message arrived (MailReceiver.messageId): keyed by id first, the rows
-- are added at the end of the one index the table has, and the sweep deletes a range of it from its start. Their
-- order is the bytes' (collation "C"): a database's own collation may sort letters otherwise (Danish "aa" after "z").
CREATE TABLE received_messages (
  message_id   text COLLATE "C" NOT NULL,
  account_id   text NOT NULL REFERENCES accounts(id),
  reverse_path text NOT NULL,
  recipients   text[] NOT NULL,
  headers      bytea NOT NULL,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (message_id, account_id)
);
