-- Configuration sets: per-message delivery options (TlsPolicy, MaxDeliverySeconds), sending
-- switch and suppression options, as in SES v2. NULL options fall back to the node / account.
CREATE TABLE configuration_sets (
  account_id           text NOT NULL REFERENCES accounts(id),
  name                 text NOT NULL,
  tls_policy           text,                -- REQUIRE, OPTIONAL
  max_delivery_seconds integer,
  sending_enabled      boolean NOT NULL DEFAULT true,
  suppressed_reasons   text[],              -- NULL: the account's setting applies
  tags                 jsonb NOT NULL DEFAULT '[]',
  created_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, name)
);
