-- What an account's owner set with SES v2's account operations, as GetAccount shows it. details: PutAccountDetails'
-- MailType, WebsiteURL, ContactLanguage, UseCaseDescription and AdditionalContactEmailAddresses (null before the first
-- call). production_access_requested: that call's ProductionAccessEnabled, a request that only an operator grants
-- (mailgate admin account set <id> --production true); Mailgate has no review. vdm_attributes:
-- PutAccountVdmAttributes' (DISABLED only: Mailgate has no Virtual Deliverability Manager).
ALTER TABLE accounts ADD COLUMN details jsonb,
  ADD COLUMN production_access_requested boolean NOT NULL DEFAULT false,
  ADD COLUMN vdm_attributes jsonb;
