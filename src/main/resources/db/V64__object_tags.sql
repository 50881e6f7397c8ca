-- An object's tags (S3's object tagging: at most 10 keys and values), as a JSON object of keys and values: given with
-- a PutObject (x-amz-tagging), a multipart upload's creation (kept on the upload until it is completed), a copy (its
-- source's, or with x-amz-tagging-directive REPLACE the request's), or set on their own (PutObjectTagging,
-- DeleteObjectTagging), which changes neither the object's content nor its time. NULL for none. Every write that
-- replaces an object's content sets them again; added without a default, a catalog change (10 s at most, as V60's).
SET LOCAL lock_timeout = '10s';
ALTER TABLE received_objects ADD COLUMN tags jsonb;
ALTER TABLE multipart_uploads ADD COLUMN tags jsonb;
