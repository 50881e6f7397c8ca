-- S3 multipart uploads on the S3 endpoint (CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
-- AbortMultipartUpload, ListParts): an upload under way, for the account's bucket and key, and the parts put so far.
-- Completing one writes the object (received_objects) from its parts in the database and deletes the upload and its
-- parts in the same transaction. checksum_algorithm: the x-amz-checksum-algorithm the upload was created with (its
-- parts must carry that checksum, kept in checksum), or NULL.
CREATE TABLE multipart_uploads (
  account_id         text        NOT NULL REFERENCES accounts(id),
  upload_id          text        NOT NULL,
  bucket             text        NOT NULL,
  object_key         text        NOT NULL,
  checksum_algorithm text,
  created_at         timestamptz NOT NULL,
  PRIMARY KEY (account_id, upload_id)
);

-- The retention sweep's abandoned uploads, oldest first.
CREATE INDEX multipart_uploads_created ON multipart_uploads (created_at);

CREATE TABLE multipart_parts (
  account_id  text        NOT NULL,
  upload_id   text        NOT NULL,
  part_number integer     NOT NULL,
  content     bytea       NOT NULL,
  etag        text GENERATED ALWAYS AS (md5(content)) STORED,
  checksum    text,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (account_id, upload_id, part_number),
  FOREIGN KEY (account_id, upload_id) REFERENCES multipart_uploads (account_id, upload_id)
);
DO $$
BEGIN
  ALTER TABLE multipart_parts ALTER COLUMN content SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR syntax_error THEN
  RAISE NOTICE 'lz4 is not available: parts stay compressed with pglz';
END $$;

-- Parts are bytes the account keeps: they count in receiving.maxStoredBytesPerAccount (received_usage, V42) from
-- when they are put until their upload is completed (then the object counts instead) or aborted.
CREATE TRIGGER multipart_usage_inserted AFTER INSERT ON multipart_parts
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION received_usage_changed('1');
CREATE TRIGGER multipart_usage_updated AFTER UPDATE ON multipart_parts
  REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION received_usage_updated();
CREATE TRIGGER multipart_usage_deleted AFTER DELETE ON multipart_parts
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION received_usage_changed('-1');
