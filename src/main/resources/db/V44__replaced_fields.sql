-- The caller's own Date and Message-ID header fields, as written, of a raw message (or one sent over SMTP) whose sent
-- copy has Mailgate's instead, as SES replaces them: its events and notifications show the original ones in their
-- headers, as SES's do. Null when the message had neither (every Simple or Template send). No default: no rewrite.
ALTER TABLE messages ADD COLUMN replaced_fields bytea;
