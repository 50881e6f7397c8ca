-- SES v2 import jobs (CreateImportJob): a file of the account's S3 namespace (received_objects, written through the
-- S3 endpoint) read into its suppression list or one of its contact lists. destination: ImportDestination as given,
-- checked. status: CREATED, PROCESSING (a node holds it: lease_owner until lease_until), COMPLETED or FAILED.
-- failed_key: the file of the records that failed (bucket mailgate-imports), when there were some and it was kept.
CREATE TABLE import_jobs (
  account_id   text        NOT NULL,
  job_id       text        NOT NULL,
  destination  jsonb       NOT NULL,
  data_format  text        NOT NULL,
  bucket       text        NOT NULL,
  object_key   text        NOT NULL,
  status       text        NOT NULL,
  created_at   timestamptz NOT NULL,
  completed_at timestamptz,
  processed    bigint,
  failed       bigint,
  error        text,
  failed_key   text,
  lease_owner  text,
  lease_until  timestamptz,
  PRIMARY KEY (account_id, job_id)
);

-- ListImportJobs: an account's jobs, newest first.
CREATE INDEX import_jobs_listing ON import_jobs (account_id, created_at DESC, job_id DESC);

-- The jobs a node may take: waiting, or held by a lease that may have expired.
CREATE INDEX import_jobs_waiting ON import_jobs (created_at) WHERE status IN ('CREATED', 'PROCESSING');
