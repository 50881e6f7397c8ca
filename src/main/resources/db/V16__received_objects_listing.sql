-- The S3 API lists a bucket's keys in S3's order, by their UTF-8 bytes (collation "C"), a page at a time from a key
-- on: this index serves those pages whatever the database's default collation (the primary key's order follows it).
CREATE INDEX received_objects_listing ON received_objects (account_id, bucket, object_key COLLATE "C");

-- receiving.retentionDays deletes the oldest received mail first
CREATE INDEX received_objects_created ON received_objects (created_at);
