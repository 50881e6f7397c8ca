package io.mailgate.feedback;

import io.mailgate.EventBusAddresses;
import io.mailgate.config.MailgateConfig;
import io.mailgate.delivery.AttemptResult;
import io.mailgate.delivery.DeliveryOutcome;
import io.mailgate.delivery.Simulator;
import io.mailgate.delivery.Verp;
import io.mailgate.identity.SecretBox;
import io.mailgate.store.FeedbackForwards;
import io.mailgate.store.FeedbackStore;
import io.mailgate.delivery.SmtpResponse;
import io.mailgate.events.EventType;
import io.mailgate.events.NotifyingAccounts;
import io.mailgate.events.SesEvents;
import io.mailgate.store.Database;
import io.mailgate.store.OutcomeStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.io.IOException;
import java.nio.file.Path;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Turns each delivery outcome into the recipient's new state and an SES event: a Delivery; a
 * Bounce classified by the same rules that classify asynchronous bounces (type and subtype from
 * the reply code, enhanced status and text); a DeliveryDelay for a soft failure that will be
 * retried; a Transient bounce when retries ran out.
 */
public final class FeedbackVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(FeedbackVerticle.class.getName());

  private final MailgateConfig config;
  private final String leaseOwner;
  private Pool db;
  private OutcomeStore outcomes;
  private BounceClassifier classifier;
  private MessageConsumer<DeliveryOutcome> consumer;
  private MessageConsumer<InboundMail> inboundConsumer;
  private MessageConsumer<String> topicsConsumer;
  private NotifyingAccounts notifying;
  private long notifyingTimer;
  private InboundFeedback inbound;
  private final SecretBox secrets;
  private String reportingMta;
  private io.mailgate.metrics.Metrics metrics;
  private FeedbackForwarder forwarder;
  private final java.time.Clock clock;
  /** How long an outcome is written again after its attempt ended: delivery.leaseSeconds. */
  private long leaseMillis;
  private boolean stopping;

  public FeedbackVerticle(MailgateConfig config, String leaseOwner, SecretBox secrets, java.time.Clock clock) {
    this.config = config;
    this.leaseOwner = leaseOwner;
    this.secrets = secrets;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    String rules = config.get(MailgateConfig.FEEDBACK_BOUNCE_RULES_FILE);
    try {
      classifier = BounceClassifier.load(rules.isBlank() ? null : Path.of(rules));
    } catch (IOException e) {
      return Future.failedFuture(new IllegalStateException("cannot read " + rules + ": " + e.getMessage(), e));
    }
    reportingMta = config.get(MailgateConfig.DELIVERY_HELO_NAME);
    leaseMillis = config.get(MailgateConfig.DELIVERY_LEASE_SECONDS) * 1000L;
    metrics = io.mailgate.metrics.Metrics.of(vertx);
    int size = config.get(MailgateConfig.PG_POOL_SIZE);
    db = Database.pool(vertx, config, size);
    outcomes = new OutcomeStore(vertx, db, leaseOwner, config.get(MailgateConfig.PG_BATCHES_IN_FLIGHT),
        config.get(MailgateConfig.PG_DELIVERY_LINGER_MILLIS));
    String bounceDomain = config.get(MailgateConfig.DELIVERY_BOUNCE_DOMAIN);
    forwarder = new FeedbackForwarder(vertx, new FeedbackForwards(db), leaseOwner,
        config.get(MailgateConfig.DELIVERY_LEASE_SECONDS), bounceDomain.isBlank() ? reportingMta : bounceDomain, clock);
    forwarder.start();
    // the answer (written: true, given up: false) lets delivery stop renewing the recipient's lease
    consumer = vertx.eventBus().localConsumer(EventBusAddresses.DELIVERY_OUTCOME,
        msg -> record(msg.body()).onComplete(ar -> msg.reply(ar.succeeded())));
    inbound = new InboundFeedback(vertx, new FeedbackStore(db), classifier, new Verp(secrets),
        config.operatorBounceDomains(), InboundFeedback.ANSWER_WITHIN_MILLIS);
    inboundConsumer = vertx.eventBus().localConsumer(EventBusAddresses.FEEDBACK_INBOUND, msg ->
        inbound.process(msg.body()).onComplete(ar -> {
          if (ar.succeeded()) {
            if (ar.result().kept()) {
              metrics.feedback(ar.result().attributed());
            } else {
              metrics.feedbackNotKept();
            }
            if (ar.result().attributed()) {
              forwarder.poke(); // a bounce or complaint may have been recorded: forward it now
            }
            msg.reply(ar.result().attributed() ? "attributed" : "kept");
          } else {
            if (ar.cause() instanceof InboundFeedback.TooSlow) {
              LOG.warning("inbound feedback from " + msg.body().mailFrom() + " answered 451: " + ar.cause().getMessage());
            } else if (ar.cause() instanceof FeedbackStore.NotYetDelivered) {
              LOG.info("inbound feedback from " + msg.body().mailFrom() + " answered 451: " + ar.cause().getMessage());
            } else {
              LOG.log(Level.WARNING, "inbound feedback could not be stored", ar.cause());
            }
            msg.fail(500, String.valueOf(ar.cause().getMessage()));
          }
        }));
    notifying = new NotifyingAccounts(db);
    topicsConsumer = vertx.eventBus().localConsumer(EventBusAddresses.IDENTITY_TOPICS_CHANGED,
        msg -> notifying.changed(msg.body()));
    notifyingTimer = vertx.setPeriodic(Math.max(100, config.get(MailgateConfig.CACHE_TTL_MILLIS)),
        t -> readNotifying());
    return Future.all(consumer.completion(), inboundConsumer.completion(), topicsConsumer.completion(),
        readNotifying());
  }

  /** Which accounts have identity notification topics; when that cannot be read, what was known stays. */
  private Future<Void> readNotifying() {
    return notifying.read().recover(e -> {
      LOG.warning("cannot read which accounts have identity notification topics: " + e.getMessage());
      return Future.succeededFuture();
    });
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(notifyingTimer);
    forwarder.stop();
    return Future.all(consumer.unregister(), inboundConsumer.unregister(), topicsConsumer.unregister())
        .compose(v -> outcomes.flushed())
        .eventually(() -> db.close());
  }

  /**
   * A failed outcome batch is written again 1, 2, 4 ... s apart, then every {@link #OUTCOME_RETRY_MAX_MILLIS}, for as
   * long as the recipient's lease (delivery.leaseSeconds) after its attempt ended: a database failing over for a
   * minute or two must not have every recipient that finished meanwhile delivered a second time. Writing late is safe:
   * the statement changes nothing once another run holds the lease.
   */
  static final long OUTCOME_RETRY_MAX_MILLIS = 10_000;

  /**
   * A failure that writing again may cure: a connection lost or refused, the server shutting down or out of resources,
   * a deadlock; not one about the data, which would fail the batch it joins each time.
   */
  static boolean transientFailure(Throwable e) {
    if (e instanceof io.vertx.pgclient.PgException pg) {
      return io.mailgate.store.Database.unavailableState(pg.getSqlState())
          || (pg.getSqlState() != null && pg.getSqlState().startsWith("40"));
    }
    return true; // the connection closed, a timeout: not an answer about the data
  }

  /** Writes an outcome; completes when it is written, fails when it is given up. */
  private Future<Void> record(DeliveryOutcome o) {
    Promise<Void> written = Promise.promise();
    try {
      record(o, published(toRow(o), o, notifying), 0, written);
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "cannot record outcome of " + o.messageId() + " to " + o.recipient(), e);
      written.tryFail(e);
    }
    return written.future();
  }

  /**
   * The outcome with its event (the Delivery too, which has no event row) for the event outbox, when the message has
   * a configuration set or its sender may have an identity notification topic for its type ({@code notifying}): the
   * statement writes it for those of the set's destinations, and of the sender's topics, that take its type.
   */
  static OutcomeStore.Outcome published(OutcomeStore.Outcome row, DeliveryOutcome o, NotifyingAccounts notifying) {
    String type = row.delivery() != null ? EventType.DELIVERY.sesName : row.eventType();
    if (type == null) {
      return row;
    }
    // the topics are the sending identity's: its owner's, when a delegate sent from another account's identity
    boolean senderTopics = notifying.wants(o.identityAccount() != null ? o.identityAccount() : o.accountId(), type);
    if (o.configurationSet() == null && !senderTopics) {
      return row; // nearly every delivery: no event is built
    }
    String detail = row.delivery() == null ? row.eventDetailJson()
        : SesEvents.sentOver(SesEvents.delivery(o.at(),
            Math.max(0, o.at().toEpochMilli() - o.acceptedAt().toEpochMilli()), o.recipient(), row.smtpReply(),
            row.delivery().reportingMta(), row.delivery().remoteMta()),
            row.delivery().outgoingIp(), row.delivery().outgoingTls()).encode();
    return new OutcomeStore.Outcome(row.messageId(), row.idx(), row.accountId(), row.recipient(), row.state(),
        row.smtpCode(), row.smtpReply(), row.eventType(), row.eventDetailJson(), row.at(), row.nextAttemptAt(),
        row.countsAsAttempt(), row.consequences(), row.delivery(),
        new OutcomeStore.Publish(o.configurationSet(), type, detail, senderTopics), row.tenantId(), row.due());
  }

  /**
   * Writes an outcome. A batch that fails (the database restarting, a connection lost) is written again for as long as
   * the recipient's lease ({@link #OUTCOME_RETRY_MAX_MILLIS}): otherwise the recipient, delivered already, would be sent
   * again once its lease expires. Writing again is safe: a row is only written while this node still holds the
   * recipient's lease. {@code written} completes once it is written, and fails once it is given up.
   */
  private void record(DeliveryOutcome o, OutcomeStore.Outcome row, int failures, Promise<Void> written) {
    outcomes.record(row).onComplete(ar -> {
      if (ar.succeeded()) {
        metrics.outcome(o.disposition());
        written.tryComplete();
      }
      long delay = Math.min(OUTCOME_RETRY_MAX_MILLIS, 1000L << Math.min(failures, 20));
      if (ar.failed() && !stopping && transientFailure(ar.cause())
          && clock.millis() + delay <= o.at().toEpochMilli() + leaseMillis) {
        if (failures == 0) { // once per outcome: an outage fails every one of them, again and again
          LOG.warning("cannot record outcome of " + o.messageId() + " to " + o.recipient() + ", written again until "
              + "it is (for delivery.leaseSeconds at most): " + ar.cause().getMessage());
        }
        vertx.setTimer(delay, t -> record(o, row, failures + 1, written));
      } else if (ar.failed()) {
        LOG.log(Level.SEVERE, "cannot record outcome of " + o.messageId() + " to " + o.recipient()
            + " (it will be retried when its lease expires): " + ar.cause().getMessage());
        written.tryFail(ar.cause());
      } else if (o.followUp() != null) {
        inbound.process(o.followUp())
            .onSuccess(r -> forwarder.poke())
            .onFailure(e -> LOG.warning("simulated feedback not recorded: " + e.getMessage()));
      } else if ("bounced".equals(row.state())) {
        forwarder.poke(); // its bounce is to be forwarded (rare: successful deliveries never come here)
      }
    });
  }

  /** What SES's mailbox simulator bounce@ gives: its notifications say Permanent/General, 550 5.1.1 user unknown. */
  private static final Classification SIMULATED_BOUNCE =
      new Classification(BounceType.PERMANENT, BounceSubType.GENERAL, "userunknown", "mailbox simulator");

  static final String SUPPRESSED_ACCOUNT =
      "Amazon SES did not send the message to this address because it is on the suppression list for your account.";
  static final String UNSUBSCRIBED =
      "Amazon SES did not send the message to this address because the recipient unsubscribed from ";
  static final String NOT_VALIDATED = "Amazon SES did not send the message to this address because Auto Validation "
      + "judged it ";
  static final String SUPPRESSED_GLOBAL = "Amazon SES has suppressed sending to this address because it has a recent "
      + "history of bouncing as an invalid address.";

  /** The reply that decided an attempt, as code, enhanced status, text and command (any may be null). */
  private record Reply(Integer code, String status, String text, String remoteMta, String command) {
    Reply(Integer code, String status, String text, String remoteMta) {
      this(code, status, text, remoteMta, null);
    }

    /** The whole reply, code and status first, as the classifier's rules (and a DSN's diagnostic) have it. */
    String reply() {
      return code == null ? text : new SmtpResponse(code, status, text).toString();
    }

    String diagnostic() {
      return "smtp; " + reply();
    }
  }

  private static Reply reply(AttemptResult r) {
    if (r instanceof AttemptResult.Delivered d) {
      return new Reply(d.reply().code(), d.reply().enhancedStatus(), d.reply().text(), d.remoteMta());
    }
    if (r instanceof AttemptResult.Rejected j) {
      return new Reply(j.reply().code(), j.reply().enhancedStatus(), j.reply().text(), j.remoteMta(),
          j.reply().command());
    }
    if (r instanceof AttemptResult.Failed f) {
      return new Reply(null, null, f.reason(), f.remoteMta());
    }
    if (r instanceof AttemptResult.Suppressed s) {
      return new Reply(null, "5.1.1", s.unsubscribedFrom() != null ? UNSUBSCRIBED + s.unsubscribedFrom() + "."
          : s.notValidated() != null ? NOT_VALIDATED + s.notValidated() + "."
          : s.global() ? SUPPRESSED_GLOBAL : SUPPRESSED_ACCOUNT, null);
    }
    AttemptResult.Deferred d = (AttemptResult.Deferred) r;
    return new Reply(null, null, d.reason(), d.remoteMta());
  }

  OutcomeStore.Outcome toRow(DeliveryOutcome o) {
    Reply r = reply(o.result());
    String smtp = r.reply();
    // the mailbox simulator counts toward the sending rate only: no suppression, no reputation
    boolean real = !Simulator.handles(o.recipient());
    OutcomeStore.Consequences counted = new OutcomeStore.Consequences(null, null, false, real, false);
    switch (o.disposition()) {
      case DELIVERED -> {
        // the Delivery event is the recipient row itself (delivered_at, reply, MTAs): no event row
        return new OutcomeStore.Outcome(o.messageId(), o.idx(), o.accountId(), o.recipient(), "delivered", r.code(),
            smtp, null, null, o.at(), null, true, counted, delivery(r.remoteMta(), o.result()), null,
            o.tenantId(), o.due());
      }
      case BOUNCED -> {
        if (o.result() instanceof AttemptResult.Suppressed sup && sup.complaint()) {
          // on the account's list for a complaint: SES publishes a Complaint of subtype OnAccountSuppressionList ("SES
          // accepted the message, but didn't attempt to send it"), no Bounce; nothing counted or suppressed again
          return row(o, "bounced", null, r.text(), EventType.COMPLAINT,
              SesEvents.complaint(o.recipient(), o.at(), ComplaintReport.ON_SUPPRESSION_LIST), null, false,
              OutcomeStore.Consequences.NONE);
        }
        if (o.result() instanceof AttemptResult.Suppressed sup) {
          // not sent at all: neither a bounce against the account's rate nor a new suppression (an unsubscribed
          // contact is the account's own list too: OnAccountSuppressionList, its diagnostic saying which list; an
          // address Auto Validation held back is Suppressed, as SES's own judgement of the address is)
          JsonObject detail = SesEvents.bounce("Permanent", sup.global() || sup.notValidated() != null ? "Suppressed"
              : "OnAccountSuppressionList",
              o.recipient(), "5.1.1", r.text(), o.at(), reportingMta, null);
          return row(o, "bounced", null, r.text(), EventType.BOUNCE, detail, null, false,
              OutcomeStore.Consequences.NONE);
        }
        // the mailbox simulator's bounce is SES's: Permanent/General, whatever its 550 5.1.1 would read as here
        Classification c = real ? classifier.classify(r.code(), r.status(), smtp, r.command()) : SIMULATED_BOUNCE;
        String status = r.status() != null ? r.status() : "5.0.0";
        JsonObject detail = SesEvents.bounce(c.type().sesName(), c.subType().sesName(), o.recipient(), status,
            r.diagnostic(), o.at(), reportingMta, r.remoteMta());
        boolean hard = real && c.type() == BounceType.PERMANENT;
        // the system account's own mail (verification emails, forwarded feedback, sent without a MAIL FROM and
        // unsigned, so refused by policy more often) suppresses on its own list only: a refused forward must not put
        // a customer's Return-Path on the global list, nor count toward the system account's reputation
        boolean system = io.mailgate.send.Caller.SYSTEM_ACCOUNT.equals(o.accountId());
        OutcomeStore.Consequences consequences = !hard ? counted : system
            ? new OutcomeStore.Consequences("BOUNCE", detail.getString("feedbackId"), false, false, false)
            : new OutcomeStore.Consequences("BOUNCE", detail.getString("feedbackId"), true, true, true);
        return row(o, "bounced", r.code(), smtp, EventType.BOUNCE, detail, null, true, consequences);
      }
      case EXPIRED -> {
        // retried until the maximum delivery time: a soft bounce, whatever the last reply said
        Classification c = classifier.classify(r.code(), r.status(), smtp, r.command());
        String subType = c.type() == BounceType.TRANSIENT ? c.subType().sesName() : "General";
        String status = r.status() != null && r.status().startsWith("4") ? r.status() : "4.4.7";
        JsonObject detail = SesEvents.bounce("Transient", subType, o.recipient(), status,
            r.diagnostic() + " (retried until the maximum delivery time)", o.at(), reportingMta, r.remoteMta());
        return row(o, "bounced", r.code(), smtp, EventType.BOUNCE, detail, null,
            !(o.result() instanceof AttemptResult.Deferred), counted);
      }
      case DEFERRED -> {
        JsonObject detail = new JsonObject()
            .put("timestamp", SesEvents.time(o.at()))
            .put("delayType", delayType(o.result(), r))
            .put("expirationTime", SesEvents.time(o.expiresAt()))
            .put("delayedRecipients", new JsonArray().add(new JsonObject()
                .put("emailAddress", o.recipient())
                .put("status", r.status() != null ? r.status() : "4.4.1")
                .put("diagnosticCode", r.diagnostic())))
            .put("reportingMTA", reportingMta);
        if (SesEvents.remoteMtaIp(r.remoteMta()) != null) {
          detail.put("remoteMtaIp", r.remoteMta());
        }
        return row(o, "queued", r.code(), smtp, EventType.DELIVERY_DELAY, detail, o.nextAttemptAt(), true,
            OutcomeStore.Consequences.NONE);
      }
      default -> {
        return row(o, "queued", null, null, null, null, o.nextAttemptAt(), false, OutcomeStore.Consequences.NONE);
      }
    }
  }

  /** A delivery by {@code remoteMta} over the connection {@code attempt} went over (if it had one). */
  private OutcomeStore.Delivery delivery(String remoteMta, AttemptResult attempt) {
    AttemptResult.Outgoing via = attempt instanceof AttemptResult.Delivered d ? d.outgoing() : null;
    return via == null ? new OutcomeStore.Delivery(remoteMta, reportingMta)
        : new OutcomeStore.Delivery(remoteMta, reportingMta, via.ip(), via.tlsVersion());
  }

  private String delayType(AttemptResult result, Reply r) {
    if (!(result instanceof AttemptResult.Rejected)) {
      return "TransientCommunicationFailure";
    }
    String reason = classifier.classify(r.code(), r.status(), r.reply(), r.command()).reason();
    return switch (reason) {
      case "mailboxfull", "systemfull" -> "MailboxFull";
      case "spamdetected", "filtered", "contenterror", "virusdetected" -> "SpamDetected";
      case "blocked", "requireptr", "norelaying", "authfailure" -> "IPFailure";
      default -> "RecipientServerError";
    };
  }

  private OutcomeStore.Outcome row(DeliveryOutcome o, String state, Integer code, String reply, EventType type,
      JsonObject detail, java.time.Instant next, boolean counts, OutcomeStore.Consequences consequences) {
    return new OutcomeStore.Outcome(o.messageId(), o.idx(), o.accountId(), o.recipient(), state, code, reply,
        type == null ? null : type.sesName, detail == null ? null : detail.encode(), o.at(), next, counts, consequences,
        null, null, o.tenantId(), o.due());
  }
}
