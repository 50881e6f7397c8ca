-- Retention (RetentionVerticle) deletes inbound feedback by age: an index on the time it arrived,
-- so each batch reads the oldest rows instead of the whole table. Inbound feedback is a few rows
-- per bounce or complaint, far off the send path.
CREATE INDEX inbound_feedback_received ON inbound_feedback (received_at);
