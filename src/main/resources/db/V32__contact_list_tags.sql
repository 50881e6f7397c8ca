-- A contact list's tags (CreateContactList's Tags, TagResource on arn:aws:ses:<region>:<account>:contact-list/<name>),
-- kept as identities and configuration sets keep theirs: a jsonb array of {Key, Value} on the list's own row
-- (ResourceTags). Lists created before this have none. (A catalog change only; as V19's, it gives up after 10 s
-- rather than queue behind a long reader, and the node's next start tries again.)
SET LOCAL lock_timeout = '10s';
ALTER TABLE contact_lists ADD COLUMN tags jsonb NOT NULL DEFAULT '[]';
