-- Event publishing (SES v2 CreateConfigurationSetEventDestination): where a configuration set's events go, and an
-- outbox of events still to be posted. An outbox row is written in the transaction that records its event, so an
-- event is published at least once whatever fails after; it is deleted once its webhook answered 2xx.
CREATE TABLE event_destinations (
  id                bigserial PRIMARY KEY,
  account_id        text NOT NULL,
  configuration_set text NOT NULL,
  name              text NOT NULL,
  enabled           boolean NOT NULL,
  event_types       text[] NOT NULL,      -- SES event names: Send, Delivery, Bounce, ...
  url               text NOT NULL,        -- the webhook (given as SnsDestination.TopicArn)
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, configuration_set, name),
  FOREIGN KEY (account_id, configuration_set) REFERENCES configuration_sets (account_id, name) ON DELETE CASCADE
);

CREATE TABLE event_outbox (
  id              bigserial PRIMARY KEY,
  -- not a foreign key: a destination deleted while a statement writes its events must not fail that statement
  -- (with it, a batch of other tenants' delivery outcomes); rows whose destination is gone are dropped when due
  destination_id  bigint NOT NULL,
  message_id      text NOT NULL,
  type            text NOT NULL,
  recipient       text,
  detail          jsonb NOT NULL,
  created_at      timestamptz NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,     -- also the lease: a claimed row is due again when its lease ends
  last_error      text
);
CREATE INDEX event_outbox_due ON event_outbox (next_attempt_at);
-- claims go destination by destination, oldest first within each
CREATE INDEX event_outbox_destination ON event_outbox (destination_id, next_attempt_at);
