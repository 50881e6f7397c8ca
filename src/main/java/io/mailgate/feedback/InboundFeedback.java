package io.mailgate.feedback;

import io.mailgate.delivery.Simulator;
import io.mailgate.delivery.Verp;
import io.mailgate.send.MessageIds;
import io.mailgate.store.FeedbackStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Handles a message received for a bounce domain: parses it (DSN, ARF, the usual non-standard
 * bounces, auto-replies), ties it to the message and recipient it is about, and records what SES
 * would: a Bounce or Complaint event, the suppression, the reputation count. Attribution uses the
 * VERP return path the report was sent to (its HMAC must hold: a forged one attributes nothing),
 * for a bounce also the VERP return path the report says the original was sent from (an SES
 * notification's {@code mail.source}), or else the original message's Message-ID inside the report.
 * What cannot be attributed is kept.
 *
 * <p>Anyone who saw a message (one of its recipients) can write a report naming its Message-ID, and
 * list its other recipients as failed. A bounce matched that way alone is believed only for a
 * message sent without VERP return paths, where it is all there is; for one sent with them, a real
 * bounce comes back to the recipient's own return path, so such a report records nothing (no event,
 * suppression or reputation count) and is kept. A complaint matched by Message-ID is believed as
 * received: feedback loops send to an address of their own, not to the return path.
 */
public final class InboundFeedback {
  private static final Logger LOG = Logger.getLogger(InboundFeedback.class.getName());
  private static final Pattern OUR_ID = Pattern.compile("0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000");
  private static final Pattern VERP_SHAPE = Pattern.compile("b[a-z2-7]{47}");

  private final Vertx vertx;
  private final FeedbackStore store;
  private final FeedbackParser parser = new FeedbackParser();
  private final BounceClassifier classifier;
  private final Verp verp;

  public InboundFeedback(Vertx vertx, FeedbackStore store, BounceClassifier classifier, Verp verp) {
    this.vertx = vertx;
    this.store = store;
    this.classifier = classifier;
    this.verp = verp;
  }

  /** What became of a received message, for logs and tests. */
  public record Result(boolean attributed, String kind, String messageId, String note) {}

  public Future<Result> process(InboundMail mail) {
    // MIME parsing of a large report is work for a worker thread, not an event loop
    return vertx.executeBlocking(() -> parser.parse(mail.content()), false)
        .compose(report -> attribute(mail, report));
  }

  private Future<Result> attribute(InboundMail mail, FeedbackReport report) {
    String kind = report.kind().name();
    Verp.Target target = null;
    boolean forged = false;
    for (String rcpt : mail.rcptTo()) {
      String local = verpLocalPart(rcpt);
      if (local != null) {
        Optional<Verp.Target> t = verp.parse(local);
        if (t.isPresent()) {
          target = t.get();
          break;
        }
        forged = true;
      }
    }
    if (forged && target == null) {
      return keep(mail, report, null, null, "VERP address failed its HMAC check (forged or altered): not attributed");
    }
    boolean bounce = report.kind() == FeedbackKind.DSN || report.kind() == FeedbackKind.NON_STANDARD_BOUNCE;
    if (target == null && bounce && report.original() != null) {
      // a Mailgate relaying through SES gets its bounces as SES notifications, at an address of the operator's: the
      // message's envelope sender they state (mail.source) is the recipient's VERP return path, as good as one sent to
      String local = verpLocalPart(report.original().returnPath());
      target = local == null ? null : verp.parse(local).orElse(null);
    }
    String messageId = target != null ? target.messageId() : idFromHeaders(report);
    if (messageId == null) {
      return keep(mail, report, null, null, "no VERP return path and no message id of ours in the report");
    }
    Verp.Target verpTarget = target;
    return store.message(messageId).compose(found -> {
      if (found.isEmpty()) {
        return keep(mail, report, null, null, "message " + messageId + " is not known here");
      }
      FeedbackStore.MessageRef m = found.get();
      return switch (report.kind()) {
        case ARF -> complaint(mail, report, m, verpTarget);
        case DSN, NON_STANDARD_BOUNCE -> verpTarget == null && m.verp() ? byMessageIdAlone(mail, report, m)
            : bounces(mail, report, m, verpTarget);
        default -> keep(mail, report, m.id(), m.accountId(), kind + ": nothing to record");
      };
    });
  }

  /**
   * A bounce matched by Message-ID alone, about a message sent with VERP return paths: a real MTA would have sent it to
   * the recipient's return path. Whoever wrote it had the message, a Cc recipient say, listing the others as failed:
   * it is kept, and records nothing (suppressions and hard bounces counted there could pause the account).
   */
  private Future<Result> byMessageIdAlone(InboundMail mail, FeedbackReport report, FeedbackStore.MessageRef m) {
    LOG.fine(() -> "bounce from " + mail.mailFrom() + " to " + mail.rcptTo() + " about " + m.id()
        + " matched by Message-ID alone, not through a VERP return path: kept, nothing recorded");
    return keep(mail, report, m.id(), m.accountId(), "bounce matched by Message-ID alone for a message sent with VERP "
        + "return paths (a real one comes back to the recipient's): nothing recorded");
  }

  /** The local part of an address when it has a VERP token's shape (lower case), else null. */
  private static String verpLocalPart(String address) {
    if (address == null || address.lastIndexOf('@') < 0) {
      return null;
    }
    String local = address.substring(0, address.lastIndexOf('@')).toLowerCase(Locale.ROOT);
    return VERP_SHAPE.matcher(local).matches() ? local : null;
  }

  private Future<Result> bounces(InboundMail mail, FeedbackReport report, FeedbackStore.MessageRef m,
      Verp.Target target) {
    List<Future<Void>> writes = new ArrayList<>();
    FeedbackStore.Received kept = received(mail, report, true, m.id(), m.accountId(), null);
    for (RecipientReport r : report.recipients()) {
      String action = r.action() == null ? "failed" : r.action();
      if (!action.equals("failed") && !action.equals("delayed")) {
        continue; // delivered, relayed, expanded: not a failure
      }
      int idx = target != null ? target.recipientIndex() : indexOf(m, r);
      if (idx < 0 || idx >= m.recipients().size()) {
        continue;
      }
      String email = m.recipients().get(idx);
      if (action.equals("delayed")) {
        continue; // a warning; the final DSN, if any, comes later
      }
      Classification c = classifier.classify(r);
      JsonObject bounced = new JsonObject().put("emailAddress", email).put("action", "failed");
      if (r.status() != null) {
        bounced.put("status", r.status());
      }
      if (r.diagnosticCode() != null) {
        bounced.put("diagnosticCode", r.diagnosticCode());
      }
      Instant now = Instant.now();
      JsonObject detail = new JsonObject()
          .put("bounceType", c.type().sesName())
          .put("bounceSubType", c.subType().sesName())
          .put("bouncedRecipients", new JsonArray().add(bounced))
          .put("timestamp", io.mailgate.events.SesEvents.time(now))
          .put("feedbackId", MessageIds.next(now));
      if (report.reportingMta() != null) {
        // SES writes it as in the DSN field: "dns; mx.example.com"
        String mta = report.reportingMta();
        detail.put("reportingMTA", mta.contains(";") ? mta : "dns; " + mta);
      }
      if (r.remoteMta() != null) {
        detail.put("remoteMtaIp", r.remoteMta());
      }
      boolean real = !Simulator.handles(email);
      writes.add(store.bounce(m, idx, email, detail, true, c.type() == BounceType.PERMANENT, real, target != null,
          writes.isEmpty() ? kept : null));
      if (target != null) {
        break; // a VERP return path names one recipient
      }
    }
    if (writes.isEmpty()) {
      return keep(mail, report, m.id(), m.accountId(), "no failed recipient of this message in the report");
    }
    return Future.all(writes).map(v -> new Result(true, report.kind().name(), m.id(), null));
  }

  private Future<Result> complaint(InboundMail mail, FeedbackReport report, FeedbackStore.MessageRef m,
      Verp.Target target) {
    String email;
    if (target != null) {
      email = m.recipients().get(target.recipientIndex());
    } else {
      int idx = -1;
      if (report.complaint() != null && report.complaint().originalRecipients() != null) {
        for (String n : report.complaint().originalRecipients()) { // Original-Rcpt-To: the report says who
          idx = find(m, n);
          if (idx >= 0) {
            break;
          }
        }
      }
      if (idx < 0) {
        // otherwise the parser's candidates (the removal address, or the returned message's To): one recipient of
        // the message among them is the complainant; several are a guess that would pin it on the wrong one
        java.util.Set<Integer> candidates = new java.util.TreeSet<>();
        report.recipients().forEach(r -> {
          int i = find(m, r.finalRecipient());
          if (i >= 0) {
            candidates.add(i);
          }
        });
        if (candidates.size() > 1) {
          return keep(mail, report, m.id(), m.accountId(), "complaint names no recipient, and the returned message "
              + "was to " + candidates.size() + " of its recipients: not attributed");
        }
        idx = candidates.isEmpty() ? -1 : candidates.iterator().next();
      }
      // a single-recipient message needs no name (providers often redact it)
      if (idx < 0 && m.recipients().size() == 1) {
        idx = 0;
      }
      if (idx < 0) {
        return keep(mail, report, m.id(), m.accountId(), "complaint names no recipient of the message");
      }
      email = m.recipients().get(idx);
    }
    ComplaintReport c = report.complaint();
    Instant now = Instant.now();
    JsonObject detail = new JsonObject()
        .put("complainedRecipients", new JsonArray().add(new JsonObject().put("emailAddress", email)))
        .put("timestamp", io.mailgate.events.SesEvents.time(now))
        .put("feedbackId", MessageIds.next(now))
        .putNull("complaintSubType");
    if (c != null) {
      if (c.userAgent() != null) {
        detail.put("userAgent", c.userAgent());
      }
      if (c.feedbackType() != null) {
        detail.put("complaintFeedbackType", c.feedbackType());
      }
      if (c.arrivalDate() != null) {
        detail.put("arrivalDate", c.arrivalDate());
      }
    }
    // RFC 6430's not-spam says the opposite of a complaint: the event is published, nothing is suppressed or counted
    boolean counts = c == null || !"not-spam".equals(c.feedbackType());
    return store.complaint(m, email, detail, counts && !Simulator.handles(email), received(mail, report, true, m.id(),
            m.accountId(), null))
        .map(v -> new Result(true, "ARF", m.id(), null));
  }

  private static int indexOf(FeedbackStore.MessageRef m, RecipientReport r) {
    int i = find(m, r.finalRecipient());
    return i >= 0 ? i : find(m, r.originalRecipient());
  }

  private static int find(FeedbackStore.MessageRef m, String address) {
    if (address == null) {
      return -1;
    }
    String a = address.strip();
    int semi = a.indexOf(';'); // "rfc822; user@example.com"
    if (semi >= 0) {
      a = a.substring(semi + 1).strip();
    }
    if (a.startsWith("<") && a.endsWith(">")) {
      a = a.substring(1, a.length() - 1);
    }
    for (int i = 0; i < m.recipients().size(); i++) {
      if (m.recipients().get(i).equalsIgnoreCase(a)) {
        return i;
      }
    }
    return -1;
  }

  /** Our message id from the original Message-ID header, e.g. {@code <0100...-000000@email.mailgate.local>}. */
  static String idFromHeaders(FeedbackReport report) {
    if (report.original() == null || report.original().messageId() == null) {
      return null;
    }
    java.util.regex.Matcher matcher = OUR_ID.matcher(report.original().messageId());
    return matcher.find() ? matcher.group() : null;
  }

  private Future<Result> keep(InboundMail mail, FeedbackReport report, String messageId, String accountId, String note) {
    boolean attributed = messageId != null;
    if (!attributed) {
      LOG.info("feedback from " + mail.mailFrom() + " to " + mail.rcptTo() + " kept unattributed: " + note);
    }
    return store.keep(received(mail, report, attributed, messageId, accountId, note))
        .map(v -> new Result(attributed, report.kind().name(), messageId, note));
  }

  private static FeedbackStore.Received received(InboundMail mail, FeedbackReport report, boolean attributed,
      String messageId, String accountId, String note) {
    return new FeedbackStore.Received(mail.receivedAt(), mail.mailFrom(), String.join(",", mail.rcptTo()),
        report.kind().name(), attributed, messageId, accountId, note, mail.content());
  }
}
