-- SES tenants: containers within an account for the identities, configuration sets and templates one of its customers
-- sends with, each with its own reputation and sending status, so that one customer's bounces pause that customer and
-- not the account. A send names its tenant (SendEmail's TenantName, the X-SES-TENANT header) and may use only
-- resources associated with it.
--
-- customer_status is the owner's (UpdateReputationEntityCustomerManagedStatus): ENABLED, DISABLED or REINSTATED.
-- managed_status is the service's: DISABLED when the tenant's reputation policy (none, standard, strict) paused it,
-- with managed_cause saying why. impact is the reputation check's finding (NULL: none, LOW: over the warning rates,
-- HIGH: over the shutdown rates); reinstated_impact the finding the owner accepted by reinstating the tenant (it sends
-- on with it; a worse one pauses it again, and once the findings clear the tenant is ENABLED again).
CREATE TABLE tenants (
  account_id          text NOT NULL REFERENCES accounts(id),
  name                text NOT NULL,
  id                  text NOT NULL UNIQUE,
  tags                jsonb NOT NULL DEFAULT '[]',
  created_at          timestamptz NOT NULL DEFAULT now(),
  policy              text NOT NULL DEFAULT 'standard',
  customer_status     text NOT NULL DEFAULT 'ENABLED',
  customer_status_at  timestamptz NOT NULL DEFAULT now(),
  managed_status      text NOT NULL DEFAULT 'ENABLED',
  managed_cause       text,
  managed_status_at   timestamptz NOT NULL DEFAULT now(),
  impact              text,
  reinstated_impact   text,
  reputation          jsonb,
  PRIMARY KEY (account_id, name)
);

-- What a tenant may send with. resource_name is the identity (as identities.identity spells it), configuration set or
-- template name. A resource may belong to several tenants; deleting the tenant or the resource removes the association.
CREATE TABLE tenant_resources (
  account_id    text NOT NULL,
  tenant_name   text NOT NULL,
  resource_type text NOT NULL,             -- EMAIL_IDENTITY, CONFIGURATION_SET, EMAIL_TEMPLATE
  resource_name text NOT NULL,
  associated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, tenant_name, resource_type, resource_name),
  FOREIGN KEY (account_id, tenant_name) REFERENCES tenants (account_id, name) ON DELETE CASCADE
);
CREATE INDEX tenant_resources_resource ON tenant_resources (account_id, resource_type, resource_name);

-- (the resource type, and the column naming the resource in its table)
CREATE FUNCTION tenant_resource_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM tenant_resources
  WHERE account_id = OLD.account_id AND resource_type = TG_ARGV[0]
    AND resource_name = to_jsonb(OLD) ->> TG_ARGV[1];
  RETURN OLD;
END $$;
CREATE TRIGGER identity_tenants AFTER DELETE ON identities
  FOR EACH ROW EXECUTE FUNCTION tenant_resource_gone('EMAIL_IDENTITY', 'identity');
CREATE TRIGGER configuration_set_tenants AFTER DELETE ON configuration_sets
  FOR EACH ROW EXECUTE FUNCTION tenant_resource_gone('CONFIGURATION_SET', 'name');
CREATE TRIGGER template_tenants AFTER DELETE ON email_templates
  FOR EACH ROW EXECUTE FUNCTION tenant_resource_gone('EMAIL_TEMPLATE', 'name');

-- A tenant's share of its account's reputation counters (reputation_buckets), per five minutes; by the tenant's id,
-- so that a tenant deleted and made again under its name starts clean, whatever the first one's mail brings back.
CREATE TABLE tenant_reputation_buckets (
  account_id   text NOT NULL,
  tenant_id    text NOT NULL,
  bucket       timestamptz NOT NULL,
  sent         bigint NOT NULL DEFAULT 0,
  hard_bounces bigint NOT NULL DEFAULT 0,
  complaints   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, tenant_id, bucket)
);
CREATE INDEX tenant_reputation_buckets_time ON tenant_reputation_buckets (bucket);

-- The tenant a message was sent for (NULL: none): its name as the sender gave it, and its id (what its outcomes count
-- toward). A catalog change only; see V19 for the lock timeout.
SET LOCAL lock_timeout = '10s';
ALTER TABLE messages ADD COLUMN tenant text, ADD COLUMN tenant_id text;
