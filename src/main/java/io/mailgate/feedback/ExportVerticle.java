package io.mailgate.feedback;

import io.mailgate.AsyncLoop;
import io.mailgate.EventBusAddresses;
import io.mailgate.OffLoop;
import io.mailgate.SesException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.store.Database;
import io.mailgate.store.ExportJobStore;
import io.mailgate.store.VdmStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Runs SES v2 export jobs, one instance per node: takes the oldest waiting job of any account ({@link ExportJobStore},
 * one node a job), makes its file and stores it in the account's S3 namespace with the job COMPLETED; then the next,
 * until none waits. A job created on this node is taken at once; others (and those whose node died holding them, once
 * their lease is out) at the next look, every {@link #POLL}. A stopping node gives its job back to wait again.
 */
public final class ExportVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(ExportVerticle.class.getName());
  static final Duration POLL = Duration.ofSeconds(5);
  /** Far longer than a job takes (a bounded number of records, made in memory). */
  static final Duration LEASE = Duration.ofMinutes(10);
  /** The most records a file has: a job that would have more fails, saying so. */
  public static final int MAX_RECORDS = 100_000;

  private final MailgateConfig config;
  private final String leaseOwner;
  private final Clock clock;
  private Pool db;
  private ExportJobStore jobs;
  private VdmStore vdm;
  private MessageInsightsExport insights;
  private MessageConsumer<Object> created;
  private long timer = -1;
  private boolean running;
  private boolean again;
  private boolean stopping;

  public ExportVerticle(MailgateConfig config, String leaseOwner, Clock clock) {
    this.config = config;
    this.leaseOwner = leaseOwner;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    db = Database.pool(vertx, config, 1);
    jobs = new ExportJobStore(db);
    vdm = new VdmStore(db);
    insights = new MessageInsightsExport(db);
    created = vertx.eventBus().localConsumer(EventBusAddresses.EXPORT_CREATED, m -> look());
    timer = vertx.setPeriodic(POLL.toMillis(), t -> look());
    look();
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(timer);
    return created.unregister().otherwiseEmpty()
        .compose(v -> jobs.release(leaseOwner).otherwiseEmpty())
        .eventually(() -> db.close());
  }

  /** Takes the waiting jobs one after the other; a look asked for meanwhile is made once the current one ends. */
  private void look() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    next().onFailure(e -> LOG.warning("export jobs not taken: " + e.getMessage())).onComplete(ar -> {
      running = false;
      if (again && !stopping) {
        look();
      }
    });
  }

  /** Takes and runs one waiting job after the other, until none waits (or the node stops). */
  private Future<Void> next() {
    return AsyncLoop.whileTrue(() -> {
      if (stopping) {
        return Future.succeededFuture(false);
      }
      Instant now = clock.instant();
      return jobs.claim(leaseOwner, now, now.plus(LEASE))
          .compose(job -> job == null ? Future.succeededFuture(false) : run(job).map(true));
    });
  }

  private Future<Void> run(ExportJobStore.Job job) {
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
