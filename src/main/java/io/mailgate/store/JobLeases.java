package io.mailgate.store;

/**
 * The statements of the lease SES v2's jobs share ({@code export_jobs}, {@code import_jobs}): a job waits CREATED,
 * one node at a time holds it PROCESSING until its lease runs out ({@code lease_owner}, {@code lease_until}), and what
 * the node writes of it is fenced by that lease. Each table has the columns {@code account_id}, {@code job_id},
 * {@code status}, {@code created_at}, {@code lease_owner} and {@code lease_until}, and an index on
 * {@code created_at} of the jobs waiting or held.
 */
final class JobLeases {
  /** The oldest job waiting, or held by a lease that expired, taken by $1 until $2 ($3: now), as {@code columns}. */
  final String claim;
  /** The job ($1, $2), locked, while it is still $3's. */
  final String fence;
  /** The job ($1, $2) kept $3's until $4, while it still is. */
  final String renew;
  /** A stopping node's ($1) jobs wait again, for the next node to take at once. */
  final String release;

  /**
   * @param table the jobs' table
   * @param columns what a claim returns of the job taken, as the table names them
   */
  JobLeases(String table, String columns) {
    claim = "UPDATE " + table + " j SET status = 'PROCESSING', lease_owner = $1, lease_until = $2 "
        + "FROM (SELECT account_id, job_id FROM " + table + " WHERE status IN ('CREATED', 'PROCESSING') "
        + "AND (status = 'CREATED' OR lease_until < $3) ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) w "
        + "WHERE j.account_id = w.account_id AND j.job_id = w.job_id RETURNING "
        + columns.replace("account_id", "j.account_id").replace(" job_id", " j.job_id");
    fence = "SELECT 1 FROM " + table + " WHERE account_id = $1 AND job_id = $2 AND status = 'PROCESSING' "
        + "AND lease_owner = $3 FOR UPDATE";
    renew = "UPDATE " + table + " SET lease_until = $4 "
        + "WHERE account_id = $1 AND job_id = $2 AND status = 'PROCESSING' AND lease_owner = $3";
    release = "UPDATE " + table + " SET status = 'CREATED', lease_owner = NULL, lease_until = NULL "
        + "WHERE status = 'PROCESSING' AND lease_owner = $1";
  }
}
