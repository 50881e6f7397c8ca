package io.mailgate.delivery;

import io.mailgate.EventBusAddresses;
import io.mailgate.config.MailgateConfig;
import io.mailgate.store.Database;
import io.mailgate.store.DeliveryQueue;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.sqlclient.Pool;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Delivers committed messages, one SMTP transaction per recipient so each recipient gets its own
 * outcome, through a pool of reused connections to the relay. Work arrives two ways: directly from
 * the node that accepted it (which already holds the lease), and from a periodic scan of the
 * queue for recipients whose lease expired (a node crashed) — so nothing accepted is lost.
 *
 * <p>Outcomes go to the feedback handler over the event bus; this verticle never writes them.
 */
public final class DeliveryVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(DeliveryVerticle.class.getName());

  private final MailgateConfig config;
  private final String nodeId;
  private final Clock clock;
  private NetClient netClient;
  private Pool db;
  private DeliveryQueue queue;
  private SmtpPool relay;
  private MessageConsumer<DeliveryJob> consumer;
  private long scanTimer = -1;
  private boolean firstScan = true;
  private boolean scanning;
  private boolean stopping;
  private int pending;
  private int maxPending;
  private final List<Future<Void>> releases = new ArrayList<>();

  public DeliveryVerticle(MailgateConfig config, String nodeId, Clock clock) {
    this.config = config;
    this.nodeId = nodeId;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    maxPending = config.get(MailgateConfig.DELIVERY_MAX_PENDING);
    netClient = vertx.createNetClient(new NetClientOptions()
        .setTcpNoDelay(true)
        .setConnectTimeout(config.get(MailgateConfig.DELIVERY_CONNECT_TIMEOUT_SECONDS) * 1000));
    db = Database.pool(vertx, config, 2);
    queue = new DeliveryQueue(db, nodeId, config.get(MailgateConfig.DELIVERY_LEASE_SECONDS));
    String helo = config.get(MailgateConfig.DELIVERY_HELO_NAME);
    long commandTimeout = config.get(MailgateConfig.DELIVERY_COMMAND_TIMEOUT_SECONDS) * 1000L;
    SmtpConnection.Options options = new SmtpConnection.Options(helo,
        config.get(MailgateConfig.DELIVERY_CONNECT_TIMEOUT_SECONDS) * 1000L, commandTimeout, commandTimeout * 2, true);
    SmtpPool.Limits limits = new SmtpPool.Limits(config.get(MailgateConfig.DELIVERY_MAX_CONNECTIONS),
        config.get(MailgateConfig.DELIVERY_MAX_MESSAGES_PER_CONNECTION),
        config.get(MailgateConfig.DELIVERY_IDLE_TIMEOUT_SECONDS) * 1000L);
    relay = new SmtpPool(vertx, netClient, SmtpRoute.parse(config.get(MailgateConfig.RELAY_URL)), options, limits);
    consumer = vertx.eventBus().localConsumer(EventBusAddresses.SEND_ACCEPTED, msg -> onAccepted(msg.body()));
    long interval = config.get(MailgateConfig.DELIVERY_SCAN_INTERVAL_SECONDS) * 1000L;
    scanTimer = vertx.setPeriodic(Math.min(1000, interval), interval, id -> scan());
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(scanTimer);
    // stop taking work; attempts still waiting for a connection end as "stopped" and are released
    return consumer.unregister()
        .compose(v -> relay.close())
        .compose(v -> Future.join(new ArrayList<>(releases)))
        .eventually(() -> netClient.close())
        .eventually(() -> db.close());
  }

  private void onAccepted(DeliveryJob job) {
    if (stopping || pending + job.recipients().size() > maxPending) {
      // more than fits in memory: leave it in the queue; a scan picks it up when there is room
      track(queue.release(job.messageId(), job.recipients()));
      return;
    }
    deliver(job);
  }

  private void scan() {
    if (scanning || stopping || pending > maxPending / 2) {
      return;
    }
    scanning = true;
    boolean includeOwn = firstScan;
    queue.claim(Math.min(1000, maxPending - pending), includeOwn).onComplete(ar -> {
      scanning = false;
      if (ar.failed()) {
        LOG.log(Level.WARNING, "queue scan failed: " + ar.cause().getMessage());
        return;
      }
      firstScan = false;
      for (DeliveryJob job : ar.result()) {
        deliver(job);
      }
      if (ar.result().size() > 0) {
        LOG.fine(() -> "queue scan took over " + ar.result().size() + " messages");
      }
    });
  }

  private void deliver(DeliveryJob job) {
    byte[] stuffed = DotStuffing.stuff(job.content());
    Buffer data = Buffer.buffer(stuffed);
    boolean eightBit = DotStuffing.isEightBit(job.content());
    for (DeliveryJob.Recipient r : job.recipients()) {
      pending++;
      relay.deliver(job.envelopeFrom(), r.address(), data, job.content().length, eightBit).onComplete(ar -> {
        pending--;
        AttemptResult result = ar.result();
        if (stopping && result instanceof AttemptResult.Failed) {
          track(queue.release(job.messageId(), List.of(r)));
          return;
        }
        vertx.eventBus().send(EventBusAddresses.DELIVERY_OUTCOME, new DeliveryOutcome(job.messageId(),
            job.accountId(), r.idx(), r.address(), result, job.acceptedAt(), clock.instant()));
      });
    }
  }

  private void track(Future<Void> release) {
    releases.add(release);
    release.onComplete(ar -> {
      releases.remove(release);
      if (ar.failed()) {
        LOG.warning("could not release a lease (it will expire): " + ar.cause().getMessage());
      }
    });
  }
}
