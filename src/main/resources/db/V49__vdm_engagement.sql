-- A configuration set's VDM engagement metrics (VdmOptions.DashboardOptions.EngagementMetrics): ENABLED, DISABLED, or
-- null when the set does not say (the account's VdmAttributes decide). Engagement metrics on, its messages get open
-- and click trackers whatever its event destinations take.
ALTER TABLE configuration_sets ADD COLUMN engagement_metrics text;
