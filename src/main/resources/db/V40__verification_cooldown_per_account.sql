-- The cooldown between verification emails to an address is each account's own: kept for the address alone, one
-- account asking again and again for someone's address (each ask that finds the cooldown running costs it nothing)
-- kept every other account's email from going there, and the account that really had the address's owner's consent
-- never got its link through. An address still gets at most one per cooldown from each account.
ALTER TABLE verification_emails ADD COLUMN account_id text NOT NULL DEFAULT '';
ALTER TABLE verification_emails DROP CONSTRAINT verification_emails_pkey;
ALTER TABLE verification_emails ADD PRIMARY KEY (address, account_id);
