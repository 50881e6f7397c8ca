-- A domain's next Easy DKIM key (PutEmailIdentityDkimSigningAttributes with AWS_SES on a domain whose key is verified,
-- NextSigningKeyLength): the current key goes on signing until the next key's record is found in DNS, and the next
-- key then takes its place. Without it, a new key replaced the verified one at once and mail went out unsigned until
-- its record was published and seen.
ALTER TABLE identities ADD COLUMN dkim_next_selector text, ADD COLUMN dkim_next_key_length text,
  ADD COLUMN dkim_next_private_key bytea, ADD COLUMN dkim_next_public_key text;
