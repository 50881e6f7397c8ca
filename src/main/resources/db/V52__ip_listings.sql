-- The node's sending addresses in DNS blocklists (BlocklistVerticle, GetBlacklistReports): one row per address and
-- blocklist zone looked up. checked_at: when a node last took it to look it up (the claim that has one node at a time
-- do it); listed_at: since when it is listed (first found so), null while it is not; description: the blocklist's
-- TXT record for the listing, or the answer's address when it has none.
CREATE TABLE ip_listings (
  address     text        NOT NULL,
  zone        text        NOT NULL,
  checked_at  timestamptz NOT NULL,
  listed_at   timestamptz,
  description text,
  PRIMARY KEY (address, zone)
);
