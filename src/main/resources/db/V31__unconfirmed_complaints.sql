-- A complaint about a message to several recipients sent with VERP return paths that nothing ties to the recipient who
-- made it (no VERP return path of that recipient in the report, only the Message-ID and what the report names): its
-- event is published as received, but it suppresses nothing and is not counted, as anyone who saw the message could
-- have written it. It must not make a later complaint that is tied (through the recipient's VERP return path) a repeat
-- either: that one is counted. Existing rows were all believed: false. (A catalog change only on the busiest table; as
-- V19's, it gives up after 10 s rather than queue every event write behind a long reader, and the node's next start
-- tries again.)
SET LOCAL lock_timeout = '10s';
ALTER TABLE events ADD COLUMN unconfirmed boolean NOT NULL DEFAULT false;
