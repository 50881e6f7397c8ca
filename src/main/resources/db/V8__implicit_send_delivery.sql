-- Send and Delivery are no longer rows of events: a Send is the message row itself, a Delivery
-- the recipient's delivery columns below. Both are rendered from there when events are read.
-- They were two of the five rows (and four of the eight index entries) written per message.
-- delivered_at stays set when an asynchronous bounce later marks the recipient bounced.
ALTER TABLE recipients ADD COLUMN delivered_at timestamptz;
ALTER TABLE recipients ADD COLUMN remote_mta text;       -- the delivery's remote MTA (IP address)
ALTER TABLE recipients ADD COLUMN reporting_mta text;    -- the node that delivered it (its HELO name)

-- Rows written before this version: move their Delivery onto the recipient, drop both kinds.
UPDATE recipients r SET delivered_at = e.created_at, remote_mta = e.detail->>'remoteMtaIp',
       reporting_mta = e.detail->>'reportingMTA'
FROM events e
WHERE e.type = 'Delivery' AND e.message_id = r.message_id AND e.recipient = r.address;
DELETE FROM events WHERE type IN ('Send', 'Delivery');
