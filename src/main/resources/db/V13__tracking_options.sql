-- Open and click tracking (SES TrackingOptions): the domain a configuration set's tracking links use instead of the
-- node's http.publicUrl, and whether they use HTTPS (REQUIRE, REQUIRE_OPEN_ONLY, OPTIONAL). NULL: the node's URL.
ALTER TABLE configuration_sets ADD COLUMN redirect_domain text, ADD COLUMN https_policy text;
