-- The TLS protocol a message was sent to Mailgate over (SMTP submission with STARTTLS or implicit TLS: TLSv1.3), which
-- SES's events tag as ses:source-tls-version. Null in plain text, and over HTTP (TLS ends at a proxy in front of the
-- node, whose protocol the node does not see). No default: no rewrite.
ALTER TABLE messages ADD COLUMN source_tls text;
