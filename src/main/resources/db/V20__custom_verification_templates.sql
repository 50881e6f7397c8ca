-- SES custom verification email templates (CreateCustomVerificationEmailTemplate and the rest), per account.
CREATE TABLE custom_verification_templates (
  account_id    text NOT NULL,
  name          text NOT NULL,
  from_address  text NOT NULL,
  subject       text NOT NULL,
  content       text NOT NULL,
  success_url   text NOT NULL,
  failure_url   text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, name)
);
