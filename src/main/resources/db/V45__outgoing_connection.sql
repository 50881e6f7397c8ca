-- The connection a recipient was delivered over: the address it left from and its TLS protocol (null in plain text),
-- which SES's events tag as ses:outgoing-ip and ses:outgoing-tls-version. The Delivery event and the recipient's later
-- ones (opens, clicks, complaints, a bounce reported after) show them. Null for a recipient delivered before this
-- (and the mailbox simulator's). No default: no rewrite.
ALTER TABLE recipients ADD COLUMN outgoing_ip text;
ALTER TABLE recipients ADD COLUMN outgoing_tls text;
