-- Virtual Deliverability Manager's metrics (SES v2 BatchGetMetricData), for the accounts that turned VDM on.
--
-- Which trackers a message's HTML was given when it was sent: 1 an open pixel, 2 its links wrapped for clicks (both:
-- 3); null for none. DELIVERY_OPEN and DELIVERY_CLICK count the deliveries of messages with such trackers.
ALTER TABLE messages ADD COLUMN trackers smallint;

-- Each UTC day's metrics of the messages sent that day (a message's delivery, bounces, complaint, open and click all
-- count on the day it was sent), by account, sending identity, configuration set ('' for none) and the recipient's
-- mailbox provider: one row per combination that had a message, recomputed whole from the messages while the day is
-- recent (VdmVerticle), so a late bounce or a late open still counts. Only messages with one recipient count, none to
-- the mailbox simulator, as in SES.
CREATE TABLE vdm_metrics (
  account_id         text   NOT NULL,
  day                date   NOT NULL,
  identity           text   NOT NULL,
  configuration_set  text   NOT NULL,
  isp                text   NOT NULL,
  send               bigint NOT NULL,
  delivery           bigint NOT NULL,
  permanent_bounce   bigint NOT NULL,
  transient_bounce   bigint NOT NULL,
  complaint          bigint NOT NULL,
  open               bigint NOT NULL,
  click              bigint NOT NULL,
  delivery_open      bigint NOT NULL,
  delivery_click     bigint NOT NULL,
  delivery_complaint bigint NOT NULL,
  PRIMARY KEY (account_id, day, identity, configuration_set, isp)
);

-- When each day's metrics were last computed, and which node computes them now (its lease): one node a day at a time.
CREATE TABLE vdm_days (
  day         date PRIMARY KEY,
  computed_at timestamptz,
  lease_owner text,
  lease_until timestamptz
);
