-- An object completed from a multipart upload keeps where its parts were and S3's ETag for it: the MD5 of its parts'
-- MD5s, a dash and their count (parts_etag), which clients that checked their parts' MD5s check the object against
-- (rclone does). part_sizes, the parts' lengths in order, serve GetObject and HeadObject's partNumber (one part,
-- x-amz-mp-parts-count), which the SDKs' multipart downloads use. NULL for an object put whole, copied or written by
-- a receipt rule or an export job.
--
-- And an object keeps the checksum it was written with (checksum_algorithm: crc32, crc32c, crc64nvme, sha1, sha256;
-- checksum: base64, as S3 gives it), which GetObject and HeadObject give back to a client that asks
-- (x-amz-checksum-mode: ENABLED) and which the SDKs check the content they read against: a PutObject's
-- x-amz-checksum-*, a completed upload's checksum (composite, with a dash and the count of its parts, or of the full
-- object), a copy's source's (a full object's only). NULL for an object written without one.
--
-- Every write that replaces an object's content sets all four again. They are added without a default: a catalog
-- change, however many objects there are (as V32's, it gives up after 10 s rather than queue behind a long reader, and
-- the node's next start tries again).
SET LOCAL lock_timeout = '10s';
ALTER TABLE received_objects ADD COLUMN part_sizes bigint[];
ALTER TABLE received_objects ADD COLUMN parts_etag text;
ALTER TABLE received_objects ADD COLUMN checksum_algorithm text;
ALTER TABLE received_objects ADD COLUMN checksum text;
