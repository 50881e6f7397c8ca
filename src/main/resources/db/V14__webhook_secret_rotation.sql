-- Rotating an account's webhook signing secret: the secret is derived from the master key, the account and this
-- generation (0: the first, as before); until webhook_previous_until, events carry a signature under the previous
-- generation's secret too, so receivers can switch without losing an event.
ALTER TABLE accounts ADD COLUMN webhook_secret_generation integer NOT NULL DEFAULT 0,
                     ADD COLUMN webhook_previous_until timestamptz;
