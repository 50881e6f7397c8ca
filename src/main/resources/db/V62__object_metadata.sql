-- An object keeps the headers it was written with that S3 keeps (its system metadata set by the writer and its user
-- metadata): Content-Type, Content-Disposition, Content-Encoding, Content-Language, Cache-Control, Expires and the
-- x-amz-meta-* headers (names lower-cased), as a JSON object of header names and values, which GetObject and HeadObject
-- give back. A PutObject's, a completed upload's (given when the upload was created, kept on it meanwhile), a copy's
-- source's (x-amz-metadata-directive COPY) or the copy request's own (REPLACE). NULL for an object written without any,
-- as a receipt rule's and an export job's are: served as application/octet-stream.
--
-- Every write that replaces an object's content sets it again. Added without a default: a catalog change, however many
-- objects there are (it gives up after 10 s rather than queue behind a long reader, and the node's next start tries
-- again).
SET LOCAL lock_timeout = '10s';
ALTER TABLE received_objects ADD COLUMN metadata jsonb;
ALTER TABLE multipart_uploads ADD COLUMN metadata jsonb;
