-- A configuration set's delivery options, kept when it is deleted: the messages sent with it that are still queued
-- are delivered as the set said (its TlsPolicy REQUIRE above all: not in plain text because the set is gone) until
-- they reach an end. A set created again under the name is what applies; retention sweeps these rows.
CREATE TABLE deleted_configuration_sets (
  account_id           text NOT NULL,
  name                 text NOT NULL,
  tls_policy           text,
  max_delivery_seconds int,
  sending_pool_name    text,
  deleted_at           timestamptz NOT NULL,
  PRIMARY KEY (account_id, name)
);
