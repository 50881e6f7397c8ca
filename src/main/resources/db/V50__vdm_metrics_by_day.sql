-- The retention sweep deletes the VDM metrics of days past vdm.retentionDays (RetentionVerticle), a batch at a time
-- by day: without this index each batch would read the whole table.
CREATE INDEX vdm_metrics_day ON vdm_metrics (day);
