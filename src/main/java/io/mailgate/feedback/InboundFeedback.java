package io.mailgate.feedback;

import io.mailgate.delivery.Simulator;
import io.mailgate.delivery.Verp;
import io.mailgate.send.MessageIds;
import io.mailgate.store.FeedbackStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.LocalMap;
import io.vertx.core.shareddata.Shareable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * suppression or reputation count) and is kept. Feedback loops send complaints to an address of their
 * own, not to the return path: a complaint is tied to its recipient by the VERP return path in the
 * copy it returns (Return-Path, or the ARF's Original-Mail-From), whatever recipient the report
 * names. Without one, a complaint about a message to one recipient is that recipient's; about a
 * message to several, whoever the report names is only what the report says, as one of them could
 * name another: the event is published, and nothing is suppressed or counted.
 *
 * <p>A bounce guessed from text (not a DSN) is recorded through a VERP return path only when the text
 * names its recipient, or at least the recipient's domain (an auto-responder's text names other
 * addresses), and never puts an address on the global suppression list: only a DSN does, and only one through a
 * return path on an operator's bounce domain. An account's custom MAIL FROM domain is the account's: it runs its DNS,
 * so it can learn its recipients' return paths (an SPF record's {@code %{l}} macro has receivers look each one up
 * there, its MX receives what comes back) and write a DSN to any of them; what comes through one is the account's
 * own business (its suppression list, its counts), never every account's.
 */
public final class InboundFeedback {
  private static final Logger LOG = Logger.getLogger(InboundFeedback.class.getName());
  private static final Pattern OUR_ID = Pattern.compile("0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000");
  private static final Pattern VERP_SHAPE = Pattern.compile("b[a-z2-7]{47}");
  /** A reply code and its text: a bare number ("X-Unix; 255", an exit status) is no SMTP reply. */
  private static final Pattern SMTP_REPLY = Pattern.compile("[2-5]\\d\\d[ -]");
  /**
   * The feedback types that are no recipient's complaint, published as they come (SES lists both among its
   * complaintFeedbackType values) but neither suppressing nor counted toward reputation: RFC 6430's not-spam says the
   * opposite of a complaint, and RFC 6591's auth-failure is a DMARC or DKIM failure report about a message, which no
   * recipient wrote. Any other type (RFC 5965's, a feedback loop's own) is a complaint.
   */
  private static final java.util.Set<String> NOT_COMPLAINTS = java.util.Set.of("not-spam", "auth-failure");

  /**
   * A report that recorded nothing (not attributed, or attributed by a Message-ID anyone who received a message has,
   * and nothing believed of it) is kept for inspection up to this much: its headers and explanation are at the top
   * (the parser reads 256 KB of text at most), and anyone can send one, up to the inbound size limit, again and again.
   */
  static final int MAX_KEPT_UNATTRIBUTED = 256 * 1024;

  /**
   * Reports that recorded nothing one node keeps in an hour at most, and their bytes ({@link KeptBudget}): anyone can
   * write to the feedback addresses, as often as they like, and each such report would be a row (up to
   * {@link #MAX_KEPT_UNATTRIBUTED}) until {@code retention.days}. Beyond, a report is read and answered as any other
   * (its sender learns nothing) but not kept; reports that record a bounce or complaint are always kept.
   */
  static final int MAX_KEPT_PER_HOUR = 1_000;
  static final long MAX_KEPT_BYTES_PER_HOUR = 64L * 1024 * 1024;

  /** The hour's reports kept that recorded nothing, shared by a node's feedback verticles. */
  static final class KeptBudget {
    private record Window(long hour, int reports, long bytes, long refused) implements Shareable {}

    private final LocalMap<String, Window> windows;
    private final int maxReports;
    private final long maxBytes;

    KeptBudget(LocalMap<String, Window> windows, int maxReports, long maxBytes) {
      this.windows = windows;
      this.maxReports = maxReports;
      this.maxBytes = maxBytes;
    }

    static KeptBudget of(Vertx vertx, String name, int maxReports, long maxBytes) {
      return new KeptBudget(vertx.sharedData().getLocalMap(name), maxReports, maxBytes);
    }

    /** Whether a report of {@code bytes} may be kept this hour; taken from the hour's budget when it may. */
    boolean take(long bytes) {
      long hour = System.currentTimeMillis() / 3_600_000L;
      boolean[] took = {false};
      Window w = windows.compute("kept", (k, b) -> {
        Window live = b == null || b.hour() != hour ? new Window(hour, 0, 0, 0) : b;
        took[0] = live.reports() < maxReports && live.bytes() + bytes <= maxBytes;
        return took[0] ? new Window(hour, live.reports() + 1, live.bytes() + bytes, live.refused())
            : new Window(hour, live.reports(), live.bytes(), live.refused() + 1);
      });
      if (!took[0] && w.refused() == 1) {
        LOG.warning("feedback reports that record nothing: " + w.reports() + " (" + w.bytes() + " bytes) kept this "
            + "hour, the most a node keeps; more are answered as before but not kept until the hour ends");
      }
      return took[0];
    }
  }

  /**
   * How long parsing a received report may take before its sender is answered 451 (it then sends it again): what the
   * event bus waited for the whole of it before, when the report was recorded even so, and again with each retry.
   */
  public static final long ANSWER_WITHIN_MILLIS = 30_000;

  private final Vertx vertx;
  private final KeptBudget kept;
  private final FeedbackStore store;
  private final FeedbackParser parser = new FeedbackParser();
  private final BounceClassifier classifier;
  private final Verp verp;
  private final java.util.Set<String> operatorBounceDomains;
  private final long answerWithinMillis;

  /**
   * @param answerWithinMillis how long a received report may take to parse: past that its sender is answered with a
   *     failure (451, and it sends the report again later), and the report is recorded by that later copy, not this
   * @param operatorBounceDomains the operator's bounce domains (MailgateConfig.operatorBounceDomains): only a DSN
   *     through a return path on one of them reaches the global suppression list
   */
  public InboundFeedback(Vertx vertx, FeedbackStore store, BounceClassifier classifier, Verp verp,
      java.util.Set<String> operatorBounceDomains, long answerWithinMillis) {
    this(vertx, store, classifier, verp, operatorBounceDomains, answerWithinMillis,
        KeptBudget.of(vertx, "mailgate.feedback.kept", MAX_KEPT_PER_HOUR, MAX_KEPT_BYTES_PER_HOUR));
  }

  /** As above, with what reports that record nothing may keep ({@link KeptBudget}). */
  InboundFeedback(Vertx vertx, FeedbackStore store, BounceClassifier classifier, Verp verp,
      java.util.Set<String> operatorBounceDomains, long answerWithinMillis, KeptBudget kept) {
    this.kept = kept;
    this.vertx = vertx;
    this.store = store;
    this.classifier = classifier;
    this.verp = verp;
    this.operatorBounceDomains = java.util.Set.copyOf(operatorBounceDomains);
    this.answerWithinMillis = answerWithinMillis;
  }

  /**
   * What became of a received message, for logs and tests; {@code kept}: whether it was stored (one that recorded
   * nothing is not, past the hour's {@link KeptBudget}).
   */
  public record Result(boolean attributed, String kind, String messageId, String note, boolean kept) {
    Result(boolean attributed, String kind, String messageId, String note) {
      this(attributed, kind, messageId, note, true);
    }
  }

  /** The report took longer to parse than its sender is waited for: nothing was recorded. */
  public static final class TooSlow extends RuntimeException {
    TooSlow(long millis) {
      super("the report was not parsed within " + millis + " ms: nothing recorded, its sender is to send it again");
    }
  }

  /**
   * Parses and records a received message. Answered within {@code answerWithinMillis}, or failed with {@link TooSlow}
   * then: a report is recorded only when its parsing ended before that, so one whose sender was told to try again
   * (and will send it again) is not also recorded (once parsed, recording it is a few statements, and the answer waits
   * for them).
   */
  public Future<Result> process(InboundMail mail) {
    Promise<Result> answer = Promise.promise();
    AtomicBoolean decided = new AtomicBoolean();
    long timer = vertx.setTimer(answerWithinMillis, t -> {
      if (decided.compareAndSet(false, true)) {
        answer.fail(new TooSlow(answerWithinMillis));
      }
    });
    // MIME parsing of a large report is work for a worker thread, not an event loop
    vertx.executeBlocking(() -> decided.get() ? null : parser.parse(mail.content()), false).onComplete(parsed -> {
      // (a report whose sender was already answered while it waited for a worker is not parsed at all)
      if (!decided.compareAndSet(false, true)) {
        LOG.warning("a report from " + mail.mailFrom() + " to " + mail.rcptTo() + " took more than "
            + answerWithinMillis + " ms to parse: not recorded (its sender was told to try again later)");
        return;
      }
      vertx.cancelTimer(timer);
      if (parsed.failed()) {
        answer.fail(parsed.cause());
      } else {
        attribute(mail, parsed.result()).onComplete(answer);
      }
    });
    return answer.future();
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
      target = verpTarget(report.original().returnPath());
    }
    if (target == null && report.kind() == FeedbackKind.ARF) {
      // a feedback loop writes to an address of its own; the copy it returns carries the return path of the recipient
      // who complained (Return-Path, or the ARF's Original-Mail-From; an SES notification's mail.source): that, not
      // the recipient the report names, says whose copy it was
      target = verpTarget(report.original() == null ? null : report.original().returnPath());
      if (target == null && report.complaint() != null) {
        target = verpTarget(report.complaint().originalMailFrom());
      }
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

  /** The message and recipient a VERP return path names, when its HMAC holds; else null. */
  private Verp.Target verpTarget(String address) {
    String local = verpLocalPart(address);
    return local == null ? null : verp.parse(local).orElse(null);
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
    FeedbackStore.Received kept = received(mail, report, true, m.id(), m.accountId(), null, true);
    // a DSN is a report by the MTA that failed; a bounce guessed from text may be anything sent to the return path
    // (an acknowledgement, an auto-reply) that names addresses and says "rejected"
    boolean guessed = report.kind() == FeedbackKind.NON_STANDARD_BOUNCE;
    List<RecipientReport> reported = report.recipients();
    if (target != null && !inRange(target.recipientIndex(), m)) {
      return keep(mail, report, m.id(), m.accountId(), "VERP recipient " + target.recipientIndex()
          + " is not one of the message's " + m.recipients().size());
    }
    if (target != null && guessed) {
      RecipientReport naming = naming(report.recipients(), m.recipients().get(target.recipientIndex()));
      if (naming == null) {
        return keep(mail, report, m.id(), m.accountId(), "bounce read from text that names neither the recipient "
            + "of its VERP return path nor the recipient's domain: nothing recorded");
      }
      reported = List.of(naming);
    }
    // a DSN to a VERP return path whose failed entries name another address as the one that failed (a list or alias
    // the recipient expands to, one of whose members failed, at its domain or another; Postfix names the alias as the
    // Original-Recipient): the recipient's bounce, but not known to be permanent for its address, so neither
    // suppressed nor on the global list
    boolean aboutTheRecipient = true;
    if (target != null && !guessed) {
      String recipient = m.recipients().get(target.recipientIndex());
      RecipientReport named = null;
      boolean namesAny = false;
      for (RecipientReport r : report.recipients()) {
        if (r.action() == null || r.action().equals("failed")) {
          namesAny |= r.finalRecipient() != null;
          if (named == null && r.finalRecipient() != null && r.finalRecipient().equalsIgnoreCase(recipient)) {
            named = r;
          }
        }
      }
      if (named != null) {
        reported = List.of(named);
      } else if (namesAny) {
        aboutTheRecipient = false;
      }
    }
    for (RecipientReport r : reported) {
      String action = r.action() == null ? "failed" : r.action();
      if (!action.equals("failed") && !action.equals("delayed")) {
        continue; // delivered, relayed, expanded: not a failure
      }
      int idx = target != null ? target.recipientIndex() : indexOf(m, r);
      if (!inRange(idx, m)) {
        continue;
      }
      String email = m.recipients().get(idx);
      if (action.equals("delayed")) {
        continue; // a warning; the final DSN, if any, comes later
      }
      Classification c = classifier.classify(r);
      JsonObject bounced = new JsonObject().put("emailAddress", email).put("action", "failed");
      // SES records the DSN's Status field as it is; classification may have gone by a code in the reply instead
      String status = r.statusField() != null ? r.statusField() : r.status();
      if (status != null) {
        bounced.put("status", status);
      }
      if (r.diagnosticCode() != null) {
        bounced.put("diagnosticCode", typed(r.diagnosticCode()));
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
      String remoteMtaIp = ipLiteral(r.remoteMta());
      if (remoteMtaIp != null) {
        detail.put("remoteMtaIp", remoteMtaIp); // an address, as SES writes it; a Remote-MTA host name is no such thing
      }
      boolean real = !Simulator.handles(email);
      // SES's suppression lists (an SES notification's OnAccountSuppressionList or Suppressed): nothing was sent, and
      // SES counts none toward the bounce rate; recorded as Mailgate's own suppressed sends are, nothing suppressed
      // again or counted
      boolean suppressionList = c.subType() == BounceSubType.SUPPRESSED
          || c.subType() == BounceSubType.ON_ACCOUNT_SUPPRESSION_LIST;
      boolean permanent = c.type() == BounceType.PERMANENT && !suppressionList && aboutTheRecipient;
      // the message's return paths are on the domain it was sent with, whatever domain the report came to (the token
      // holds for any): one on an account's custom MAIL FROM domain was seen by that account
      boolean operators = m.verpDomain() != null
          && operatorBounceDomains.contains(m.verpDomain().toLowerCase(Locale.ROOT));
      // a bounce through the recipient's own return path about a recipient still queued came before its delivery's
      // outcome was written: answered 4xx (the store fails), it comes again once it is
      writes.add(store.bounce(m, idx, email, detail, true, permanent, real,
          target != null && !guessed && aboutTheRecipient && operators, target != null && !guessed,
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
      if (!inRange(target.recipientIndex(), m)) {
        return keep(mail, report, m.id(), m.accountId(), "VERP recipient " + target.recipientIndex()
            + " is not one of the message's " + m.recipients().size());
      }
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
    // SES relayed through: a complaint of subtype OnAccountSuppressionList is a send SES did not make, published as
    // such, and neither suppressed nor counted (as a relayed bounce of SES's suppression lists is)
    String sesSubType = c == null ? null : c.sesSubType();
    JsonObject detail = io.mailgate.events.SesEvents.complaint(email, now, sesSubType);
    if (c != null) {
      if (c.userAgent() != null) {
        detail.put("userAgent", c.userAgent());
      }
      if (c.feedbackType() != null) {
        detail.put("complaintFeedbackType", c.feedbackType());
      }
      String arrival = isoTime(c.arrivalDate());
      if (arrival != null) {
        detail.put("arrivalDate", arrival); // SES: ISO 8601; absent when the report has none (or none we can read)
      }
    }
    // who complained is known from the recipient's own return path, or from a message with no other recipient; for a
    // message to several sent with VERP return paths, a real report returns the recipient's own, and the name in one
    // without it could be any of them, written by another: published, not believed. A message sent without them (no
    // bounce domain) has only the name to go by, as its bounces do: believed, or no complaint would ever count there
    boolean unconfirmed = target == null && m.verp() && m.recipients().size() > 1;
    String note = null;
    if (unconfirmed) {
      note = "complaint about a message to " + m.recipients().size() + " recipients, naming " + email + " without "
          + "its VERP return path: published, not suppressed or counted";
      LOG.info("feedback from " + mail.mailFrom() + " to " + mail.rcptTo() + " about " + m.id() + ": " + note);
    }
    // not-spam, auth-failure: the event is published, nothing is suppressed or counted (NOT_COMPLAINTS)
    boolean counts = !unconfirmed && sesSubType == null && (c == null || c.feedbackType() == null
        || !NOT_COMPLAINTS.contains(c.feedbackType().toLowerCase(Locale.ROOT)));
    return store.complaint(m, email, detail, counts && !Simulator.handles(email), unconfirmed,
            received(mail, report, true, m.id(), m.accountId(), note, !unconfirmed))
        .map(v -> new Result(true, "ARF", m.id(), null));
  }

  private static boolean inRange(int idx, FeedbackStore.MessageRef m) {
    return idx >= 0 && idx < m.recipients().size();
  }

  /**
   * The report's recipient that is {@code email}, else one at its domain, else null: a bounce read from text names the
   * address that failed (or, rewritten on the way, at least its domain); text naming neither is about something else.
   */
  private static RecipientReport naming(List<RecipientReport> reported, String email) {
    String domain = domainOf(email);
    RecipientReport sameDomain = null;
    for (RecipientReport r : reported) {
      String a = r.finalRecipient();
      if (a == null) {
        continue;
      }
      if (a.equalsIgnoreCase(email)) {
        return r;
      }
      if (sameDomain == null && domainOf(a).equals(domain)) {
        sameDomain = r;
      }
    }
    return sameDomain;
  }

  private static String domainOf(String address) {
    return address.substring(address.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT);
  }

  /**
   * The IP address a Remote-MTA field gives ({@code 192.0.2.5}, {@code mx.example.com (192.0.2.5)},
   * {@code [IPv6:2001:db8::1]}), or null: it often names a host only. Nothing is looked up.
   */
  static String ipLiteral(String remoteMta) {
    if (remoteMta == null) {
      return null;
    }
    for (String token : remoteMta.split("[\\s()\\[\\];,]+")) {
      String bare = token.regionMatches(true, 0, "IPv6:", 0, 5) ? token.substring(5) : token;
      if (!bare.isEmpty() && io.mailgate.NetAddresses.literal(bare) != null) {
        return bare;
      }
    }
    return null;
  }

  /**
   * A report's date (RFC 5322, as ARF's Arrival-Date; or ISO 8601, as SES's own notifications have it) in SES's ISO
   * 8601 form; null when it is neither.
   */
  static String isoTime(String date) {
    if (date == null || date.isBlank()) {
      return null;
    }
    try {
      return io.mailgate.events.SesEvents.time(java.time.OffsetDateTime.parse(date.strip()).toInstant());
    } catch (java.time.format.DateTimeParseException notIso) {
      try {
        java.util.Date parsed = org.apache.james.mime4j.field.DateTimeFieldImpl.PARSER
            .parse(new org.apache.james.mime4j.stream.RawField("Date", date.strip()),
                org.apache.james.mime4j.codec.DecodeMonitor.SILENT)
            .getDate();
        return parsed == null ? null : io.mailgate.events.SesEvents.time(parsed.toInstant());
      } catch (RuntimeException unreadable) {
        return null; // a date outside what a calendar holds, say
      }
    }
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
    FeedbackStore.Received row = received(mail, report, attributed, messageId, accountId, note, false);
    if (!kept.take(row.content().length)) {
      LOG.fine(() -> "feedback from " + mail.mailFrom() + " to " + mail.rcptTo() + " not kept (the hour's budget is "
          + "spent): " + note);
      return Future.succeededFuture(new Result(attributed, report.kind().name(), messageId, note, false));
    }
    if (!attributed) {
      LOG.info("feedback from " + mail.mailFrom() + " to " + mail.rcptTo() + " kept unattributed: " + note);
    }
    return store.keep(row).map(v -> new Result(attributed, report.kind().name(), messageId, note));
  }

  /** The report as stored: whole when it recorded an event ({@code recorded}), else its first 256 KB. */
  private static FeedbackStore.Received received(InboundMail mail, FeedbackReport report, boolean attributed,
      String messageId, String accountId, String note, boolean recorded) {
    byte[] content = mail.content();
    if (!recorded && content.length > MAX_KEPT_UNATTRIBUTED) {
      note = (note == null ? "" : note + "; ") + "kept: its first " + MAX_KEPT_UNATTRIBUTED + " of " + content.length
          + " bytes";
      content = java.util.Arrays.copyOf(content, MAX_KEPT_UNATTRIBUTED);
    }
    return new FeedbackStore.Received(mail.receivedAt(), mail.mailFrom(), String.join(",", mail.rcptTo()),
        report.kind().name(), attributed, messageId, accountId, note, content);
  }

  /**
   * A diagnostic as SES's Bounce event writes it: a remote server's reply with its type, {@code smtp; 550 5.1.1 ...}
   * (the report's type was taken off to read the reply); anything else as it is.
   */
  static String typed(String diagnostic) {
    return SMTP_REPLY.matcher(diagnostic).lookingAt() ? "smtp; " + diagnostic : diagnostic;
  }
}
