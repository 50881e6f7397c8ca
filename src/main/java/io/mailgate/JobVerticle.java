package io.mailgate;

import io.mailgate.config.MailgateConfig;
import io.mailgate.store.Database;
import io.mailgate.store.LeasedJobs;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.logging.Logger;

/**
 * Runs SES v2 jobs of one kind (export jobs, import jobs), one instance per node: takes the oldest waiting job of any
 * account (one node a job, under a lease), runs it, then the next, until none waits. A job created on this node is
 * taken at once (its handler publishes {@code createdAddress}); others, and those whose node died holding them once
 * their lease is out, at the next look, every {@link #POLL}. A stopping node gives its job back to wait again.
 *
 * @param <J> a job as its store keeps it
 */
public abstract class JobVerticle<J> extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(JobVerticle.class.getName());
  public static final Duration POLL = Duration.ofSeconds(5);

  private final String createdAddress;
  private final String kind;
  protected final MailgateConfig config;
  private final Duration lease;
  protected final String leaseOwner;
  protected final Clock clock;
  private Pool db;
  private LeasedJobs<J> jobs;
  private MessageConsumer<Object> created;
  private long timer = -1;
  private boolean running;
  private boolean again;
  private boolean stopping;

  /**
   * @param createdAddress where this node's handler says a job was created
   * @param kind what the jobs are called in the log ("export jobs")
   * @param lease how long a claim holds a job before another node may take it over
   */
  protected JobVerticle(String createdAddress, String kind, MailgateConfig config, String leaseOwner, Clock clock,
      Duration lease) {
    this.createdAddress = createdAddress;
    this.kind = kind;
    this.config = config;
    this.leaseOwner = leaseOwner;
    this.clock = clock;
    this.lease = lease;
  }

  /** Opens the stores the jobs need on the verticle's own pool; answers the jobs' own. */
  protected abstract LeasedJobs<J> open(Pool db);

  /** Runs the job to its end, written fenced by the lease: a failure of this future is the node's, logged. */
  protected abstract Future<Void> run(J job);

  @Override
  public final Future<?> start() {
    db = Database.pool(vertx, config, 1);
    jobs = open(db);
    created = vertx.eventBus().localConsumer(createdAddress, m -> look());
    timer = vertx.setPeriodic(POLL.toMillis(), t -> look());
    look();
    return Future.succeededFuture();
  }

  @Override
  public final Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(timer);
    return created.unregister().otherwiseEmpty()
        .compose(v -> jobs.release(leaseOwner).otherwiseEmpty())
        .eventually(() -> db.close());
  }

  /** Whether the node is stopping: a long job stops between its steps. */
  protected final boolean stopping() {
    return stopping;
  }

  /** Takes the waiting jobs one after the other; a look asked for meanwhile is made once the current one ends. */
  private void look() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    AsyncLoop.whileTrue(() -> {
      if (stopping) {
        return Future.succeededFuture(false);
      }
      Instant now = clock.instant();
      return jobs.claim(leaseOwner, now, now.plus(lease)).compose(job -> job == null ? Future.succeededFuture(false)
          : run(job).map(true));
    }).onFailure(e -> LOG.warning(kind + " not taken: " + e.getMessage())).onComplete(ar -> {
      running = false;
      if (again && !stopping) {
        look();
      }
    });
  }
}
