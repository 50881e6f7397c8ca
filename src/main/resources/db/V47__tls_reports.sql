-- SMTP TLS Reporting (RFC 8460): the nodes' counts of TLS sessions with recipient domains' MX hosts, by UTC day,
-- policy domain and kind of session (its policy, its result, where it failed), added to by every node each minute;
-- and the daily reports made of them, each claimed and sent by one node.
CREATE TABLE tls_report_counts (
  day date NOT NULL,
  policy_domain text NOT NULL,
  -- a digest of the columns below but sessions: the kind of session the row counts
  kind text NOT NULL,
  policy_type text NOT NULL,
  policy_strings text NOT NULL,
  mx_hosts text NOT NULL,
  -- '' for successful sessions, else an RFC 8460 result type
  result text NOT NULL,
  sending_ip text NOT NULL,
  receiving_mx text NOT NULL,
  receiving_ip text NOT NULL,
  detail text NOT NULL,
  sessions bigint NOT NULL,
  PRIMARY KEY (day, policy_domain, kind)
);

CREATE TABLE tls_reports (
  day date NOT NULL,
  policy_domain text NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- when it was sent, or given up (last_error says why): null while it is due
  done_at timestamptz,
  last_error text,
  PRIMARY KEY (day, policy_domain)
);

CREATE INDEX tls_reports_due ON tls_reports (next_attempt_at) WHERE done_at IS NULL;
