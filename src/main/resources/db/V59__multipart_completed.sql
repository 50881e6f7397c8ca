-- A completed multipart upload (V56) is kept for an hour, its parts gone, with what its completion answered: a
-- CompleteMultipartUpload retried (its answer lost on the way, the SDKs retry it) gets the same answer instead of
-- NoSuchUpload for an object that was written. Every other operation takes it for gone.
ALTER TABLE multipart_uploads ADD COLUMN completed_at timestamptz;
ALTER TABLE multipart_uploads ADD COLUMN completed_etag text;
ALTER TABLE multipart_uploads ADD COLUMN completed_checksum text;
