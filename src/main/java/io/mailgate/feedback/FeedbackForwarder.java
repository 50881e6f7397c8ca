package io.mailgate.feedback;

import io.mailgate.EventBusAddresses;
import io.mailgate.delivery.DeliveryJob;
import io.mailgate.send.Caller;
import io.mailgate.send.MessageIds;
import io.mailgate.store.FeedbackForwards;
import io.mailgate.store.NewMessage;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Email feedback forwarding (SES): mails each final bounce and each complaint recorded in {@link FeedbackForwards} to
 * the message's Return-Path (its envelope sender, else its Source), unless the sending identity turned forwarding
 * off. The forward is a message of the system account, committed with the deletion of its outbox row in one
 * transaction and handed to delivery as an accepted message is (a queue scan takes it if that hand-off is lost); it
 * is not rate limited and counts toward no account's quota or reputation. Its envelope sender is empty: nothing
 * answers it, and a synchronous refusal of it is a bounce of the system account, which is never forwarded.
 */
public final class FeedbackForwarder {
  private static final Logger LOG = Logger.getLogger(FeedbackForwarder.class.getName());
  /** Forwards claimed at once; a full claim is followed by another. */
  static final int BATCH = 20;
  /** How long a claimed forward is this node's: forwarding one is a build and one transaction. */
  static final int LEASE_SECONDS = 60;
  /** How often each node looks for forwards besides its own (another node's that died, ones to retry). */
  static final long POLL_MILLIS = 5000;

  private final Vertx vertx;
  private final FeedbackForwards forwards;
  private final String leaseOwner;
  private final int messageLeaseSeconds;
  private final String mailerDaemon;
  private final Clock clock;
  private long timer = -1;
  private boolean running;
  private boolean again;

  /**
   * @param domain the node's bounce domain, or its host name: forwards come from MAILER-DAEMON there
   * @param messageLeaseSeconds how long the forward's recipient is leased to this node ({@code leaseOwner})
   */
  public FeedbackForwarder(Vertx vertx, FeedbackForwards forwards, String leaseOwner, int messageLeaseSeconds,
      String domain, Clock clock) {
    this.vertx = vertx;
    this.forwards = forwards;
    this.leaseOwner = leaseOwner;
    this.messageLeaseSeconds = messageLeaseSeconds;
    this.mailerDaemon = "MAILER-DAEMON@" + domain;
    this.clock = clock;
  }

  public void start() {
    timer = vertx.setPeriodic(POLL_MILLIS, t -> poke());
  }

  public void stop() {
    vertx.cancelTimer(timer);
  }

  /** Forwards what is due now (a bounce or complaint was just recorded); at most one pass at a time. */
  public void poke() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    forwards.claim(BATCH, LEASE_SECONDS)
        .compose(due -> {
          List<Future<Void>> each = new ArrayList<>(due.size());
          for (FeedbackForwards.Due d : due) {
            each.add(forward(d));
          }
          return Future.join(each).map(v -> due.size());
        })
        .onComplete(ar -> {
          running = false;
          if (ar.failed()) {
            LOG.warning("cannot claim feedback to forward (it waits for the next pass): " + ar.cause().getMessage());
          } else if (ar.result() == BATCH || again) {
            poke();
          }
        });
  }

  private Future<Void> forward(FeedbackForwards.Due d) {
    String to = d.returnPath() != null && !d.returnPath().isBlank() ? d.returnPath() : d.source();
    if (d.accountId() == null || !d.forwarding() || to == null || to.isBlank()) {
      return forwards.drop(d).recover(e -> Future.succeededFuture()); // dropped at the next claim, then
    }
    Instant now = clock.instant();
    ZonedDateTime date = ZonedDateTime.ofInstant(now, ZoneOffset.UTC);
    byte[] content;
    try {
      content = message(d, to, date);
    } catch (RuntimeException e) {
      // a record it cannot make a message of: not again and again
      LOG.warning("cannot build the forward of the " + d.type() + " of " + d.messageId() + ", dropped: " + e);
      return forwards.drop(d).recover(x -> Future.succeededFuture());
    }
    String id = MessageIds.next(now);
    NewMessage message = new NewMessage(id, Caller.SYSTEM_ACCOUNT, mailerDaemon, "", null, null, "[]", content,
        List.of(to), now, null, null);
    return forwards.forwarded(d, message, leaseOwner, messageLeaseSeconds)
        .onSuccess(v -> vertx.eventBus().send(EventBusAddresses.SEND_ACCEPTED, new DeliveryJob(id,
            Caller.SYSTEM_ACCOUNT, "", null, null,
            List.of(new DeliveryJob.Recipient(0, to, 0, io.mailgate.store.Timestamps.stored(now))), content, now)))
        .recover(e -> {
          long delay = Math.min(3600, 10L << Math.min(d.attempts(), 9));
          LOG.warning("cannot forward the " + d.type() + " of " + d.messageId() + " to " + to + ", again in " + delay
              + " s: " + e.getMessage());
          return forwards.retry(d, now.plusSeconds(delay), e.getMessage())
              .recover(x -> Future.succeededFuture()); // its lease runs out: tried again then
        });
  }

  private byte[] message(FeedbackForwards.Due d, String to, ZonedDateTime now) {
    JsonObject detail = d.detail();
    if ("Complaint".equals(d.type())) {
      return ForwardedFeedback.complaint(mailerDaemon, to, d.recipient(), detail.getString("complaintFeedbackType"),
          detail.getString("userAgent"), d.report(), d.headers(), now);
    }
    io.vertx.core.json.JsonArray bounced = detail.getJsonArray("bouncedRecipients");
    JsonObject r = bounced == null || bounced.isEmpty() ? new JsonObject() : bounced.getJsonObject(0);
    return ForwardedFeedback.bounce(mailerDaemon, to, new ForwardedFeedback.Bounced(d.recipient(),
        r.getString("status"), r.getString("diagnosticCode"), detail.getString("reportingMTA"),
        detail.getString("remoteMtaIp")), d.headers(), now);
  }
}
