-- How many Opens, and Clicks, each message has had: the tracking statement upserts one row per message and type of a
-- batch instead of counting the message's events of that type for the cap (TrackingStore.MAX_PER_MESSAGE), which read
-- every such event from the heap (events_message indexes message_id alone). Hits past the cap count too. Messages
-- tracked before this table start from 0. Deleted with their message (RetentionVerticle).
CREATE TABLE tracking_counts (
  message_id text   NOT NULL,
  type       text   NOT NULL,
  n          bigint NOT NULL,
  PRIMARY KEY (message_id, type)
);
