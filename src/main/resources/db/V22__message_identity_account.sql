-- The account that owns the identity a message was sent from, when that is not the sender's own account (sending
-- authorization: a delegate sent from another account's identity through its ARN); null otherwise. The identity's
-- settings are its owner's: its notification topics get the message's bounces, complaints and deliveries, and its
-- feedback forwarding setting applies, as in SES.
ALTER TABLE messages ADD COLUMN identity_account text;
