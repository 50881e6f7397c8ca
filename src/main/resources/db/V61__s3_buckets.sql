-- Buckets made with CreateBucket (PUT /s3/{bucket}: what rclone sends before its first upload, and `aws s3 mb`): a
-- bucket exists while it holds an object or an upload under way, or a receipt rule's S3 action names it, or it was
-- made and not deleted since (DeleteBucket, once it is empty). An account makes at most 1,000.
CREATE TABLE s3_buckets (
  account_id text        NOT NULL REFERENCES accounts(id),
  name       text        NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, name)
);
