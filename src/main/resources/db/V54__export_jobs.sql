-- SES v2 export jobs (CreateExportJob): what an account asked to export (its data source as given, checked), where the
-- file goes in its S3 namespace (received_objects, read back through the S3 endpoint), and how far the job got.
-- status: CREATED, PROCESSING (a node holds it: lease_owner until lease_until), COMPLETED, FAILED or CANCELLED.
CREATE TABLE export_jobs (
  account_id   text        NOT NULL,
  job_id       text        NOT NULL,
  source_type  text        NOT NULL,
  data_source  jsonb       NOT NULL,
  data_format  text        NOT NULL,
  bucket       text        NOT NULL,
  object_key   text        NOT NULL,
  status       text        NOT NULL,
  created_at   timestamptz NOT NULL,
  completed_at timestamptz,
  processed    bigint,
  exported     bigint,
  error        text,
  lease_owner  text,
  lease_until  timestamptz,
  PRIMARY KEY (account_id, job_id)
);

-- ListExportJobs: an account's jobs, newest first.
CREATE INDEX export_jobs_listing ON export_jobs (account_id, created_at DESC, job_id DESC);

-- The jobs a node may take: waiting, or held by a lease that may have expired.
CREATE INDEX export_jobs_waiting ON export_jobs (created_at) WHERE status IN ('CREATED', 'PROCESSING');
