-- A receipt filter's Cidr as the client gave it (10.0.0.1/24, 2001:DB8::/32): ListReceiptFilters answers it, as SES
-- does, so that Terraform and CloudFormation, which compare it with their configuration, see no change. The cidr
-- column is what matching reads. Filters made before this answer their normal form, as before.
ALTER TABLE receipt_filters ADD COLUMN given_cidr text;
