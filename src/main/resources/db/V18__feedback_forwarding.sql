-- SES email feedback forwarding: each final bounce and each complaint of a message an account sent is mailed to the
-- message's Return-Path (envelope_from, else its Source) unless its sending identity turned feedback forwarding off.
-- A row is written in the same transaction as the Bounce or Complaint event it forwards (so a forward exists if and
-- only if the event does); a node turns it into a message of the system account (MAIL FROM:<>) and deletes it in one
-- transaction. No foreign key: a message deleted by retention meanwhile leaves a row its node drops.
CREATE TABLE feedback_forwards (
  id               bigserial PRIMARY KEY,
  message_id       text NOT NULL,
  type             text NOT NULL,        -- Bounce or Complaint
  recipient        text NOT NULL,
  detail           jsonb NOT NULL,       -- the event's bounce or complaint object
  report           bytea,                -- a complaint's report as it was received, forwarded when it is an ARF
  created_at       timestamptz NOT NULL,
  next_attempt_at  timestamptz NOT NULL, -- claimed rows are pushed past the time forwarding one takes (the lease)
  attempts         int NOT NULL DEFAULT 0,
  last_error       text
);
CREATE INDEX feedback_forwards_due ON feedback_forwards (next_attempt_at);
