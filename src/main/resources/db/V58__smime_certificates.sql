-- S/MIME signing (SES v2 AssociateEmailIdentityCertificate, MessageSecurityOptions).
--
-- certificates: what an account imported through the ACM-compatible endpoint (ImportCertificate): the certificate and
-- its chain as PEM, the private key as PKCS#8 sealed under the master key (SecretBox, bound to the account and the
-- certificate id), and what DescribeCertificate and the signing path read of the certificate without parsing it.
CREATE TABLE certificates (
  account_id     text        NOT NULL REFERENCES accounts(id),
  certificate_id text        NOT NULL,
  certificate    text        NOT NULL,
  chain          text,
  private_key    bytea       NOT NULL,
  subject        text        NOT NULL,
  issuer         text        NOT NULL,
  serial         text        NOT NULL,
  key_algorithm  text        NOT NULL,
  not_before     timestamptz NOT NULL,
  not_after      timestamptz NOT NULL,
  imported_at    timestamptz NOT NULL,
  PRIMARY KEY (account_id, certificate_id)
);

-- identity_certificates: the From address of an identity that a certificate signs for (one certificate per address).
-- An identity deleted takes its associations with it; a certificate associated cannot be deleted (ResourceInUse).
CREATE TABLE identity_certificates (
  account_id     text        NOT NULL,
  identity       text        NOT NULL,
  from_address   text        NOT NULL,
  certificate_id text        NOT NULL,
  created_at     timestamptz NOT NULL,
  PRIMARY KEY (account_id, from_address),
  FOREIGN KEY (account_id, identity) REFERENCES identities (account_id, identity) ON DELETE CASCADE,
  FOREIGN KEY (account_id, certificate_id) REFERENCES certificates (account_id, certificate_id)
);
CREATE INDEX identity_certificates_identity ON identity_certificates (account_id, identity, from_address);
CREATE INDEX identity_certificates_certificate ON identity_certificates (account_id, certificate_id);

-- A configuration set's MessageSecurityOptions: SMIME (its messages are S/MIME-signed when their From address has a
-- certificate), or NULL (DefaultScheme: none are).
ALTER TABLE configuration_sets ADD COLUMN signing_scheme text;
