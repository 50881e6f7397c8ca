-- SES sending authorization policies (CreateEmailIdentityPolicy, PutIdentityPolicy and the rest): JSON documents an
-- identity's owner attaches to it to let other accounts send from it. At most 20 per identity (SES's limit, checked
-- by the store under a lock on the identity's row); they go with their identity.
CREATE TABLE identity_policies (
  account_id  text NOT NULL,
  identity    text NOT NULL,
  name        text NOT NULL,
  policy      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, identity, name),
  FOREIGN KEY (account_id, identity) REFERENCES identities (account_id, identity) ON DELETE CASCADE
);
