-- The inbound server asks, for each recipient domain it does not know, whether it is a verified custom MAIL FROM
-- domain (bounces and complaints come back to it). Without an index that was a scan of every account's identities
-- per unknown domain: a client naming a new domain in each RCPT made the shared database read the whole table each
-- time.
CREATE INDEX identities_by_mail_from_domain ON identities (mail_from_domain)
  WHERE mail_from_status = 'SUCCESS' AND verification_status = 'SUCCESS';
