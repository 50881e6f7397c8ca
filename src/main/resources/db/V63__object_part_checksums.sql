-- An object completed from a multipart upload created with a checksum algorithm keeps its parts' checksums, in order
-- (each the part's own, base64, as UploadPart took it), beside part_sizes (V60): GetObjectAttributes lists them with
-- its ObjectParts, and GetObject and HeadObject give a part's (partNumber, x-amz-checksum-mode: ENABLED), which the
-- SDKs check the part they read against. NULL for any other object. Every write that replaces an object's content sets
-- it again; added without a default, a catalog change (10 s at most, as V60's).
SET LOCAL lock_timeout = '10s';
ALTER TABLE received_objects ADD COLUMN part_checksums text[];
