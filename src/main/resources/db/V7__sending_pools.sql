-- A configuration set's DeliveryOptions.SendingPoolName: one of the node's delivery.sendingPools
-- (a named route: direct to MX, or a given relay). NULL: the node's route.
ALTER TABLE configuration_sets ADD COLUMN sending_pool_name text;
