-- The SES operation each message was sent with (SendEmail, SendRawEmail, SendTemplatedEmail, SendBulkTemplatedEmail,
-- SendSmtpEmail): its events' ses:operation tag. Null for Mailgate's own mail and for messages sent before this
-- column, whose events go without the tag. A column without a default: no table rewrite, no lock held for long.
ALTER TABLE messages ADD COLUMN operation text;
