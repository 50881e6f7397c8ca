-- The identity a message was sent from, when that is another account's (sending authorization: a delegate sent from
-- it through its ARN): its account and its name; null for the sender's own. The identity's settings are its owner's:
-- its notification topics hear of the message's bounces, complaints and deliveries, and its feedback forwarding
-- setting applies; the message's mail objects name it as their sourceArn, as in SES.
ALTER TABLE messages ADD COLUMN identity_account text, ADD COLUMN identity_name text;
