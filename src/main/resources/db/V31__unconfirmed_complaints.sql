-- A complaint about a message to several recipients that nothing ties to the recipient who made it (no VERP return
-- path of that recipient in the report, only the Message-ID and what the report names): its event is published as
-- received, but it suppresses nothing and is not counted, as anyone who saw the message could have written it. It
-- must not make a later complaint that is tied (through the recipient's VERP return path) a repeat either: that one
-- is counted. Existing rows were all believed: false.
ALTER TABLE events ADD COLUMN unconfirmed boolean NOT NULL DEFAULT false;
