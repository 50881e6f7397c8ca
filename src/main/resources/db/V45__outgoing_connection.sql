-- The connection a recipient was delivered over: its public source address and TLS protocol (null in plain text, or
-- from a private or loopback address), which SES's Delivery events tag as ses:outgoing-ip and ses:outgoing-tls-version.
-- The message status rebuilds its Delivery event from this row. Null for a recipient delivered before this (and the
-- mailbox simulator's). No default: no rewrite.
ALTER TABLE recipients ADD COLUMN outgoing_ip text;
ALTER TABLE recipients ADD COLUMN outgoing_tls text;
