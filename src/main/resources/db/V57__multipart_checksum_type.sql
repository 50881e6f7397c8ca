-- A multipart upload's x-amz-checksum-type (V56): COMPOSITE (the checksum of its parts' checksums) or FULL_OBJECT (the
-- CRC of the whole object, combined from its parts' CRCs); NULL when it has no checksum algorithm.
ALTER TABLE multipart_uploads ADD COLUMN checksum_type text;
