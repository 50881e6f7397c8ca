-- An object completed from a multipart upload keeps where its parts were and S3's ETag for it: the MD5 of its parts'
-- MD5s, a dash and their count (parts_etag), which clients that checked their parts' MD5s check the object against
-- (rclone does). part_sizes, the parts' lengths in order, serve GetObject and HeadObject's partNumber (one part,
-- x-amz-mp-parts-count), which the SDKs' multipart downloads use. NULL for an object put whole, copied or written by
-- a receipt rule or an export job: every write that replaces an object's content sets both again. Both columns are
-- added without a default: a catalog change, however many objects there are (as V32's, it gives up after 10 s rather
-- than queue behind a long reader, and the node's next start tries again).
SET LOCAL lock_timeout = '10s';
ALTER TABLE received_objects ADD COLUMN part_sizes bigint[];
ALTER TABLE received_objects ADD COLUMN parts_etag text;
