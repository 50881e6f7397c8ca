package io.mailgate.api.sesv1;

import io.mailgate.OffLoop;
import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.feedback.BounceMessage;
import io.mailgate.ratelimit.RateCheck;
import io.mailgate.ratelimit.SendLimiter;
import io.mailgate.send.Caller;
import io.mailgate.send.Mailbox;
import io.mailgate.send.MailboxParser;
import io.mailgate.send.RawContent;
import io.mailgate.send.SendRequest;
import io.mailgate.send.SendService;
import io.mailgate.store.ReceivedMessages;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * SES v1 SendBounce: a bounce of a message the account received, up to 24 hours after it arrived, to that message's
 * envelope sender, from the account's BounceSender (a verified identity of its own, or one a sending authorization
 * policy lets it use through BounceSenderArn). The bounce is an RFC 3464 report ({@link BounceMessage}) for the
 * recipients named, each one of the account's recipients of the message, with SES's BounceType or the caller's own
 * RecipientDsnFields; it goes through the send path as any message of the account (quota, sending rate, suppression
 * list, DKIM, events), delivered with a null reverse-path as a delivery status notification must be.
 *
 * <p>A message the account did not receive (or received more than 24 hours ago), and one that arrived with a null
 * reverse-path (a notification itself: its bounce would have nowhere to go), are MessageRejected; malformed fields are
 * InvalidParameterValue and send nothing. An account makes at most {@code receiving.bouncesPerSecond} calls a second
 * that send (SES: one), counted across the nodes in Redis as its sends are: beyond it a call is Throttling.
 */
public final class SendBounceAction {
  private final SendService sends;
  private final ReceivedMessages received;
  private final String reportingMta;
  private final Clock clock;
  private final SendLimiter limiter;
  private final double perSecond;

  /**
   * {@code serverName}: the receiving server's name, the Reporting-MTA when the caller names none; {@code perSecond}:
   * the calls an account may make a second, counted by {@code limiter} (0: no limit).
   */
  public SendBounceAction(SendService sends, ReceivedMessages received, String serverName, Clock clock,
      SendLimiter limiter, double perSecond) {
    this.sends = sends;
    this.received = received;
    this.reportingMta = "dns; " + serverName;
    this.clock = clock;
    this.limiter = limiter;
    this.perSecond = perSecond;
  }

  /** A recipient as the request names it, with the fields its group of the report gets. */
  private record Bounced(String recipient, String parameter, BounceMessage.RecipientFields fields) {}

  Future<QueryXml> send(Caller caller, QueryParams p) {
    String originalId = p.required("OriginalMessageId");
    String bounceSender = p.required("BounceSender");
    Mailbox from = MailboxParser.parse(bounceSender);
    List<QueryParams> infos = p.structs("BouncedRecipientInfoList");
    if (infos.isEmpty()) {
      throw SesException.badRequest("Missing required parameter BouncedRecipientInfoList: name at least one recipient "
          + "of the message.");
    }
    List<Bounced> bounced = new ArrayList<>(infos.size());
    Set<String> named = new HashSet<>();
    for (QueryParams info : infos) {
      Bounced b = recipient(info);
      if (!named.add(b.recipient().toLowerCase(Locale.ROOT))) {
        throw SesException.badRequest("Invalid value for " + b.parameter() + ": "
            + MailboxParser.abbreviate(b.recipient()) + " is named twice in BouncedRecipientInfoList.");
      }
      bounced.add(b);
    }
    QueryParams dsn = p.struct("MessageDsn");
    boolean hasDsn = p.has("MessageDsn");
    String mta = hasDsn ? BounceMessage.mtaName(dsn.required("ReportingMta"), dsn.path("ReportingMta")) : reportingMta;
    Instant arrival = hasDsn ? date(dsn, "ArrivalDate") : null;
    List<BounceMessage.Field> extensions = extensions(hasDsn ? dsn : null);
    String explanation = p.string("Explanation");
    SendRequest.IdentityArns arns = SendRequest.IdentityArns.of("ses:SendBounce", p.string("BounceSenderArn"), null,
        null);
    return received.find(caller.account().id(), originalId, clock.instant()).compose(found -> {
      if (found.isEmpty()) {
        return Future.failedFuture(new SesException(SesError.MESSAGE_REJECTED, "Message "
            + MailboxParser.abbreviate(originalId) + " was not received for this account in the last 24 hours: only "
            + "mail received through Mailgate can be bounced, up to 24 hours after it arrived."));
      }
      ReceivedMessages.Received original = found.get();
      if (original.reversePath().isEmpty()) {
        return Future.failedFuture(new SesException(SesError.MESSAGE_REJECTED, "Message " + originalId
            + " arrived with a null reverse-path (MAIL FROM:<>): it is a notification itself, and a bounce of it "
            + "would have nowhere to go (RFC 5321 4.5.5)."));
      }
      Set<String> recipients = new HashSet<>();
      original.recipients().forEach(r -> recipients.add(r.toLowerCase(Locale.ROOT)));
      List<BounceMessage.RecipientFields> fields = new ArrayList<>(bounced.size());
      for (Bounced b : bounced) {
        if (!recipients.contains(b.recipient().toLowerCase(Locale.ROOT))) {
          return Future.failedFuture(SesException.badRequest("Invalid value for " + b.parameter() + ": "
              + MailboxParser.abbreviate(b.recipient()) + " is not a recipient of message " + originalId
              + " that this account received."));
        }
        fields.add(b.fields());
      }
      Mailbox to;
      try {
        to = MailboxParser.parseAddrSpec(original.reversePath());
      } catch (SesException e) {
        return Future.failedFuture(new SesException(SesError.MESSAGE_REJECTED, "Message " + originalId
            + " cannot be bounced: its envelope sender " + MailboxParser.abbreviate(original.reversePath())
            + " is not an address Mailgate sends to."));
      }
      RateCheck call = new RateCheck("bounce:" + caller.account().id(), perSecond, 1, -1, 0);
      // a long explanation is encoded on a worker thread, as any large message is built
      return throttled(call).compose(v -> OffLoop.when(
              (explanation == null ? 0 : explanation.length()) + original.headers().length,
              () -> BounceMessage.build(from, to, explanation == null || explanation.isEmpty() ? null : explanation,
                  new BounceMessage.MessageFields(mta, arrival != null ? arrival : original.receivedAt(), extensions),
                  fields, original.headers()))
          .compose(bounce -> sends.send(caller, new SendRequest(bounceSender,
              new SendRequest.Destination(List.of(to.address()), null, null), List.of(), null, List.of(),
              new RawContent(bounce), null, null, arns, null, true).withOperation("SendBounce")))
          .onFailure(e -> { // nothing was sent: the call does not count (as a refused send's recipients do not)
            if (perSecond > 0) {
              limiter.refund(call);
            }
          }))
          .map(id -> new QueryXml().text("MessageId", id));
    });
  }

  /** Takes one of the account's calls of this second, or fails with Throttling when there is none left. */
  private Future<Void> throttled(RateCheck call) {
    if (perSecond <= 0) {
      return Future.succeededFuture();
    }
    String throttled = "Maximum SendBounce rate exceeded (" + perSecond + " per second).";
    return limiter.admit(call, throttled, throttled, "Sending limits cannot be checked right now; retry later.");
  }

  /** One BouncedRecipientInfo: its BounceType's fields, with any RecipientDsnFields given over them. */
  private static Bounced recipient(QueryParams info) {
    String recipient = info.required("Recipient");
    String parameter = info.path("Recipient");
    String type = info.string("BounceType");
    boolean hasFields = info.has("RecipientDsnFields");
    if (type == null && !hasFields) {
      throw SesException.badRequest("Missing required parameter " + info.path("BounceType") + " or "
          + info.path("RecipientDsnFields") + ": give one of them for each recipient.");
    }
    BounceMessage.RecipientFields base = type == null ? null
        : BounceMessage.ofType(recipient, type, info.path("BounceType"));
    if (!hasFields) {
      BounceMessage.text(recipient, parameter); // its Final-Recipient: checked as any field
      return new Bounced(recipient, parameter, base);
    }
    QueryParams f = info.struct("RecipientDsnFields");
    String action = f.string("Action");
    String status = f.string("Status");
    if (base == null && (action == null || status == null)) {
      throw SesException.badRequest("Missing required parameter " + f.path(action == null ? "Action" : "Status")
          + ".");
    }
    String finalRecipient = f.string("FinalRecipient");
    String remoteMta = f.string("RemoteMta");
    String diagnostic = f.string("DiagnosticCode");
    Instant lastAttempt = date(f, "LastAttemptDate");
    return new Bounced(recipient, parameter, new BounceMessage.RecipientFields(
        BounceMessage.text(finalRecipient != null ? finalRecipient : recipient,
            finalRecipient != null ? f.path("FinalRecipient") : parameter),
        action != null ? BounceMessage.action(action, f.path("Action")) : base.action(),
        status != null ? BounceMessage.status(status, f.path("Status")) : base.status(),
        remoteMta != null ? BounceMessage.mtaName(remoteMta, f.path("RemoteMta")) : null,
        // the type's diagnostic, unless the caller gave a status of its own, which it would contradict
        diagnostic != null ? BounceMessage.diagnostic(diagnostic, f.path("DiagnosticCode"))
            : base == null || status != null ? null : base.diagnosticCode(),
        lastAttempt, extensions(f)));
  }

  /** A structure's ExtensionFields, checked; none when {@code p} is null. */
  private static List<BounceMessage.Field> extensions(QueryParams p) {
    if (p == null) {
      return List.of();
    }
    List<BounceMessage.Field> out = new ArrayList<>();
    for (QueryParams e : p.structs("ExtensionFields")) {
      out.add(BounceMessage.extension(e.required("Name"), e.required("Value"), e.path("").replaceAll("\\.$", "")));
    }
    return out;
  }

  /** A timestamp parameter (ISO 8601, as the SDKs write one), or null when absent. */
  private static Instant date(QueryParams p, String name) {
    String v = p.string(name);
    if (v == null) {
      return null;
    }
    try {
      return OffsetDateTime.parse(v).toInstant();
    } catch (DateTimeParseException e) {
      throw SesException.badRequest("Invalid value for " + p.path(name) + ": '" + MailboxParser.abbreviate(v)
          + "' is not an ISO 8601 timestamp (2026-12-01T08:00:00Z).");
    }
  }
}
