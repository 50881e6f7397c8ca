-- SES v1 identity notifications (SetIdentityNotificationTopic, SetIdentityFeedbackForwardingEnabled,
-- SetIdentityHeadersInNotificationsEnabled). An identity's bounce, complaint and delivery topics are event
-- destinations of the identity rather than of a configuration set, named after their notification type, so what
-- they are owed goes through the same outbox, signing and retries as events (posted in SES's notification format).
ALTER TABLE event_destinations ALTER COLUMN configuration_set DROP NOT NULL,
  ADD COLUMN identity text,
  ADD CONSTRAINT event_destinations_one_owner CHECK ((configuration_set IS NULL) <> (identity IS NULL)),
  ADD CONSTRAINT event_destinations_identity_fk FOREIGN KEY (account_id, identity)
    REFERENCES identities (account_id, identity) ON DELETE CASCADE;
-- one topic per identity and type; also how an event finds its sender's topics, and which accounts have any
CREATE UNIQUE INDEX event_destinations_identity ON event_destinations (account_id, identity, name)
  WHERE identity IS NOT NULL;

-- feedback_forwarding: stored and reported only (Mailgate does not mail feedback to the Return-Path);
-- notification_headers: the notification types (Bounce, Complaint, Delivery) whose notifications carry the headers
ALTER TABLE identities ADD COLUMN feedback_forwarding boolean NOT NULL DEFAULT true,
  ADD COLUMN notification_headers text[] NOT NULL DEFAULT '{}';
