package io.mailgate.feedback;

import io.mailgate.EventBusAddresses;
import io.mailgate.config.MailgateConfig;
import io.mailgate.delivery.AttemptResult;
import io.mailgate.delivery.DeliveryOutcome;
import io.mailgate.delivery.SmtpResponse;
import io.mailgate.events.EventType;
import io.mailgate.events.SesEvents;
import io.mailgate.store.Database;
import io.mailgate.store.OutcomeStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Turns each delivery outcome into the recipient's final state and an SES event: 2xx is a
 * Delivery, 5xx a Permanent bounce, a 4xx reply or a failed connection a Transient bounce.
 */
public final class FeedbackVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(FeedbackVerticle.class.getName());

  private final MailgateConfig config;
  private Pool db;
  private OutcomeStore outcomes;
  private MessageConsumer<DeliveryOutcome> consumer;
  private String reportingMta;

  public FeedbackVerticle(MailgateConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    reportingMta = config.get(MailgateConfig.DELIVERY_HELO_NAME);
    int size = config.get(MailgateConfig.PG_POOL_SIZE);
    db = Database.pool(vertx, config, size);
    outcomes = new OutcomeStore(db, size);
    consumer = vertx.eventBus().localConsumer(EventBusAddresses.DELIVERY_OUTCOME, msg -> record(msg.body()));
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    return consumer.unregister().compose(v -> outcomes.flushed()).eventually(() -> db.close());
  }

  private void record(DeliveryOutcome o) {
    OutcomeStore.Outcome row = toRow(o);
    outcomes.record(row).onFailure(e -> LOG.log(Level.SEVERE, "cannot record outcome of " + o.messageId() + " to "
        + o.recipient() + " (it will be retried when its lease expires): " + e.getMessage()));
  }

  OutcomeStore.Outcome toRow(DeliveryOutcome o) {
    long processing = Math.max(0, o.at().toEpochMilli() - o.acceptedAt().toEpochMilli());
    if (o.result() instanceof AttemptResult.Delivered d) {
      JsonObject detail = SesEvents.delivery(o.at(), processing, o.recipient(), d.reply().toString(),
          reportingMta, d.remoteMta());
      return new OutcomeStore.Outcome(o.messageId(), o.idx(), o.accountId(), o.recipient(), "delivered",
          d.reply().code(), d.reply().toString(), EventType.DELIVERY.sesName, detail.encode(), o.at());
    }
    if (o.result() instanceof AttemptResult.Rejected r) {
      return bounce(o, r.reply(), r.remoteMta());
    }
    AttemptResult.Failed f = (AttemptResult.Failed) o.result();
    JsonObject detail = SesEvents.bounce("Transient", "General", o.recipient(), "4.4.1",
        "smtp; " + f.reason(), o.at(), reportingMta, f.remoteMta());
    return new OutcomeStore.Outcome(o.messageId(), o.idx(), o.accountId(), o.recipient(), "bounced", null,
        f.reason(), EventType.BOUNCE.sesName, detail.encode(), o.at());
  }

  private OutcomeStore.Outcome bounce(DeliveryOutcome o, SmtpResponse reply, String remoteMta) {
    boolean permanent = reply.isPermanent();
    String status = reply.enhancedStatus() != null ? reply.enhancedStatus() : (permanent ? "5.0.0" : "4.0.0");
    JsonObject detail = SesEvents.bounce(permanent ? "Permanent" : "Transient", "General", o.recipient(), status,
        "smtp; " + reply, o.at(), reportingMta, remoteMta);
    return new OutcomeStore.Outcome(o.messageId(), o.idx(), o.accountId(), o.recipient(), "bounced", reply.code(),
        reply.toString(), EventType.BOUNCE.sesName, detail.encode(), o.at());
  }
}
