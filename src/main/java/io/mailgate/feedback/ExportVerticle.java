package io.mailgate.feedback;

import io.mailgate.EventBusAddresses;
import io.mailgate.JobVerticle;
import io.mailgate.OffLoop;
import io.mailgate.SesException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.store.ExportJobStore;
import io.mailgate.store.LeasedJobs;
import io.mailgate.store.VdmStore;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Runs SES v2 export jobs ({@link JobVerticle}): makes a job's file and stores it in the account's S3 namespace
 * with the job COMPLETED.
 */
public final class ExportVerticle extends JobVerticle<ExportJobStore.Job> {
  private static final Logger LOG = Logger.getLogger(ExportVerticle.class.getName());
  /** Far longer than a job takes (a bounded number of records, made in memory). */
  static final Duration LEASE = Duration.ofMinutes(10);
  /** The most records a file has: a job that would have more fails, saying so. */
  public static final int MAX_RECORDS = 100_000;

  private ExportJobStore jobs;
  private VdmStore vdm;
  private MessageInsightsExport insights;

  public ExportVerticle(MailgateConfig config, String leaseOwner, Clock clock) {
    super(EventBusAddresses.EXPORT_CREATED, "export jobs", config, leaseOwner, clock, LEASE);
  }

  @Override
  protected LeasedJobs<ExportJobStore.Job> open(Pool db) {
    jobs = new ExportJobStore(db);
    vdm = new VdmStore(db);
    insights = new MessageInsightsExport(db);
    return jobs;
  }

  @Override
  protected Future<Void> run(ExportJobStore.Job job) {
    Future<ExportJobStore.Ending> ending;
    try {
      ending = job.sourceType().equals("METRICS_DATA") ? metrics(job) : insights.export(job,
          j -> jobs.renew(j, leaseOwner, clock.instant().plus(LEASE)));
    } catch (SesException e) { // a data source that no longer reads as it did: said, not retried
      ending = Future.succeededFuture(new ExportJobStore.Ending.Failed(e.getMessage(), 0));
    } catch (RuntimeException e) { // a bug: the job fails (recovered below) rather than being taken again and again
      ending = Future.failedFuture(e);
    }
    return ending
        .recover(e -> {
          LOG.warning("export job " + job.jobId() + " of " + job.accountId() + " failed: " + e);
          // the cause is the node's (its database), not the customer's to read
          return Future.succeededFuture(new ExportJobStore.Ending.Failed("The export could not be made; create the "
              + "job again.", 0));
        })
        .compose(end -> jobs.end(job, leaseOwner, end,
            config.get(MailgateConfig.RECEIVING_MAX_STORED_BYTES_PER_ACCOUNT), clock.instant()))
        .map(written -> {
          if (!written) {
            LOG.info("export job " + job.jobId() + " of " + job.accountId() + " was cancelled or taken over while "
                + "it ran: nothing of it written");
          }
          return null;
        });
  }

  private Future<ExportJobStore.Ending> metrics(ExportJobStore.Job job) {
    MetricsExport source = MetricsExport.parse(job.dataSource().getJsonObject("MetricsDataSource"),
        "ExportDataSource.MetricsDataSource");
    return vdm.table(job.accountId(), source.from(), source.to(), source.filter(), source.groupBy(), MAX_RECORDS + 1)
        .compose(rows -> {
          if (rows.size() > MAX_RECORDS) {
            return Future.succeededFuture(tooMany(rows.size()));
          }
          return OffLoop.when(rows.size() * 200L, () -> {
            List<JsonObject> records = new ArrayList<>(rows.size());
            for (VdmStore.Sums row : rows) {
              JsonObject r = new JsonObject().put("Date", row.day().toString());
              for (int i = 0; i < source.groupBy().size(); i++) {
                r.put(source.groupBy().get(i), row.dimensions().get(i));
              }
              for (MetricsExport.Column c : source.metrics()) {
                Number v = c.value(row);
                if (v != null) {
                  r.put(c.name(), v);
                }
              }
              records.add(r);
            }
            Buffer file = ExportFile.write(job.dataFormat(), source.header(), records);
            return (ExportJobStore.Ending) new ExportJobStore.Ending.Exported(file, rows.size(), rows.size());
          });
        });
  }

  static ExportJobStore.Ending.Failed tooMany(long processed) {
    return new ExportJobStore.Ending.Failed("The export has more than "
        + String.format(java.util.Locale.ROOT, "%,d", MAX_RECORDS)
        + " records: narrow its dates or its filters, and export the parts.", processed);
  }
}
