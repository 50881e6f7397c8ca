-- Verified identities (email addresses and domains) per account, with their DKIM keys and
-- custom MAIL FROM domains. Each account has its own: the same domain may be an identity of
-- several accounts, each verifying it for itself.
CREATE TABLE identities (
  account_id           text NOT NULL REFERENCES accounts(id),
  identity             text NOT NULL,               -- domain, or address with a lower-cased domain
  type                 text NOT NULL,               -- EMAIL_ADDRESS, DOMAIN
  verification_status  text NOT NULL,               -- PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE
  verified_at          timestamptz,
  dkim_signing_enabled boolean NOT NULL DEFAULT true,
  dkim_status          text NOT NULL DEFAULT 'NOT_STARTED',
  dkim_origin          text,                        -- AWS_SES (generated here), EXTERNAL (brought by the user)
  dkim_selector        text,
  dkim_key_length      text,                        -- RSA_1024_BIT, RSA_2048_BIT
  dkim_private_key     bytea,                       -- PKCS#8, AES-GCM under the master key
  dkim_public_key      text,                        -- base64 SubjectPublicKeyInfo, the p= of the DNS record
  dkim_key_created_at  timestamptz,
  dkim_pending_since   timestamptz,
  mail_from_domain     text,
  mail_from_status     text,
  mail_from_behavior   text NOT NULL DEFAULT 'USE_DEFAULT_VALUE',
  mail_from_pending_since timestamptz,
  dns_checked_at       timestamptz,
  configuration_set    text,
  tags                 jsonb NOT NULL DEFAULT '[]',
  created_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, identity)
);
CREATE INDEX identities_dns_check ON identities (dns_checked_at NULLS FIRST) WHERE type = 'DOMAIN';

-- The account Mailgate itself sends from (identity verification emails). It cannot be used
-- with access keys: none are ever created for it.
INSERT INTO accounts (id, name, max_send_rate, max_24h_send, sending_enabled, production_access)
VALUES ('system', 'mailgate-system', 100, 1000000, true, true)
ON CONFLICT (id) DO NOTHING;
