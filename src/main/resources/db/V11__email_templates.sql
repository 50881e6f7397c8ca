-- SES email templates (CreateEmailTemplate and the rest), per account. Sources as given; rendered at send time.
CREATE TABLE email_templates (
  account_id  text NOT NULL,
  name        text NOT NULL,
  subject     text NOT NULL,
  text_part   text,
  html_part   text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, name)
);
