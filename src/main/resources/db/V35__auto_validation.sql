-- SES Auto Validation: the account's ValidationAttributes and a configuration set's ValidationOptions (the set's, when
-- it has them, instead of the account's). validation_enabled null: never set (a set then takes the account's);
-- validation_threshold null: no OverallConfidenceThreshold given (SES managed).
ALTER TABLE accounts ADD COLUMN validation_enabled boolean, ADD COLUMN validation_threshold text,
  ADD CONSTRAINT accounts_validation_threshold CHECK (validation_threshold IN ('MEDIUM', 'HIGH', 'MANAGED'));
ALTER TABLE configuration_sets ADD COLUMN validation_enabled boolean, ADD COLUMN validation_threshold text,
  ADD CONSTRAINT configuration_sets_validation_threshold
    CHECK (validation_threshold IN ('MEDIUM', 'HIGH', 'MANAGED'));
