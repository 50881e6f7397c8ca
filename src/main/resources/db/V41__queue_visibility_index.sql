-- The queue index orders each queued recipient by when it becomes claimable: its next attempt time, or the end of the
-- lease a node holds on it if that is later (greatest() passes over a NULL lease). A recipient in flight is beyond
-- now() in this order, so a scan reads only what it can take. Before, the index held next_attempt_at alone: every
-- recipient being delivered (leased, and due since its acceptance) sat at the front of the due range, and each scan of
-- each node read past all of them, tens of thousands per node at delivery.maxPending, to find the few it could claim.
-- Built before the old index is dropped: the build holds off writes to recipients (sends wait) but not reads, and the
-- drop's exclusive lock comes only at the end.
CREATE INDEX recipients_claimable ON recipients (greatest(next_attempt_at, lease_until)) WHERE state = 'queued';
DROP INDEX recipients_queue;
