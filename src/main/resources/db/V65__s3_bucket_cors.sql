-- A bucket's CORS configuration (PutBucketCors): its rules as a JSON array, in their order (the first that matches a
-- request is the one applied). Kept by account and bucket name, as buckets are the account's own namespaces; read by
-- name alone (the index) for a browser's preflight OPTIONS, which carries no credentials unless its URL is presigned.
-- Deleted by DeleteBucketCors and with its bucket (DeleteBucket). A bucket that only existed by its objects (never made
-- with CreateBucket) is gone with its last object, but its row stays: a write in that bucket brings it back with it.
CREATE TABLE s3_bucket_cors (
  account_id text        NOT NULL REFERENCES accounts(id),
  bucket     text        NOT NULL,
  rules      jsonb       NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, bucket)
);
CREATE INDEX s3_bucket_cors_bucket ON s3_bucket_cors (bucket);
