-- When the last reputation check ran, in one row: a node whose turn comes finds it recent, and leaves it be, when
-- another node has checked within reputation.checkIntervalSeconds (every node's timer runs; one check per interval is
-- enough, however many nodes).
CREATE TABLE reputation_checks (
  one        boolean PRIMARY KEY DEFAULT true CHECK (one),
  checked_at timestamptz NOT NULL
);
INSERT INTO reputation_checks (one, checked_at) VALUES (true, '-infinity');
