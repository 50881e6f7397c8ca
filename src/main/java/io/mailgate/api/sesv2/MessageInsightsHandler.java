package io.mailgate.api.sesv2;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.events.EventType;
import io.mailgate.events.SesEvents;
import io.mailgate.feedback.BounceType;
import io.mailgate.feedback.MailboxProviders;
import io.mailgate.send.Caller;
import io.mailgate.send.HeaderBlock;
import io.mailgate.send.MessageIds;
import io.mailgate.store.MessageQuery;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * SES v2 GetMessageInsights ({@code GET /v2/email/insights/{MessageId}/}): a message's sender, subject and tags (with
 * SES's auto-tags), and for each recipient its events in time order, read from what the message status API reads
 * ({@link MessageQuery}). A Send (or any event that names no recipient: an Open or a Click, whose links are the
 * message's, not a recipient's) concerns every recipient; the others concern the recipient they were recorded for.
 * {@code Isp} comes from {@link MailboxProviders} and is left out for a domain it does not know, as the
 * model allows, rather than a name SES might not use. A message of another account, or an id that is not a message
 * id, is NotFound, as an unknown one; how far back messages can be asked about is {@code retention.days}, not SES's
 * 30 days.
 */
public final class MessageInsightsHandler {
  private final MessageQuery query;

  public MessageInsightsHandler(MessageQuery query) {
    this.query = query;
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    String id = ctx.pathParam("messageId");
    if (!MessageIds.isWellFormed(id)) {
      return Future.failedFuture(notFound(id));
    }
    return query.find(caller.account().id(), id).compose(found -> found.isPresent()
        ? Future.succeededFuture(render(found.get())) : Future.failedFuture(notFound(id)));
  }

  private static SesException notFound(String id) {
    return new SesException(SesError.NOT_FOUND, "Message " + id + " does not exist.");
  }

  public static JsonObject render(MessageQuery.StoredMessage m) {
    // one entry per address (a recipient named twice is one destination); events may spell its case otherwise
    Map<String, JsonObject> insights = new LinkedHashMap<>();
    for (MessageQuery.StoredRecipient r : m.recipients()) {
      insights.computeIfAbsent(r.address().toLowerCase(Locale.ROOT), k -> {
        JsonObject insight = new JsonObject().put("Destination", r.address());
        putPresent(insight, "Isp", MailboxProviders.of(r.address()));
        return insight.put("Events", new JsonArray());
      });
    }
    for (MessageQuery.StoredEvent e : m.events()) { // in time order already
      EventType type = EventType.fromSesName(e.type());
      if (e.recipient() == null) {
        insights.values().forEach(i -> addEvent(i, type, e));
      } else {
        JsonObject insight = insights.get(e.recipient().toLowerCase(Locale.ROOT));
        if (insight != null) {
          addEvent(insight, type, e);
        }
      }
    }
    JsonObject out = new JsonObject().put("MessageId", m.id()).put("FromEmailAddress", m.source());
    putPresent(out, "Subject", subject(m.head()));
    return out.put("EmailTags", emailTags(m)).put("Insights", new JsonArray(insights.values().stream().toList()));
  }

  /**
   * The tags its events carry (SES's auto-tags, then the message's own), as {@code {Name, Value}}.
   */
  static JsonArray emailTags(MessageQuery.StoredMessage m) {
    JsonArray tags = new JsonArray();
    SesEvents.tags(m.operation(), m.configurationSet(), m.sourceIp(), m.sourceTls(), m.source(), m.callerIdentity(),
            m.tags())
        .forEach(t -> ((JsonArray) t.getValue()).forEach(v -> tags.add(new JsonObject().put("Name", t.getKey())
            .put("Value", v))));
    return tags;
  }

  private static void addEvent(JsonObject insight, EventType type, MessageQuery.StoredEvent e) {
    JsonObject event = new JsonObject()
        .put("Timestamp", e.createdAt().toEpochMilli() / 1000.0)
        .put("Type", type.name());
    JsonObject details = switch (type) {
      case BOUNCE -> new JsonObject().put("Bounce", bounce(e.detail(), insight.getString("Destination")));
      case COMPLAINT -> new JsonObject().put("Complaint", complaint(e.detail()));
      default -> null;
    };
    putPresent(event, "Details", details);
    insight.getJsonArray("Events").add(event);
  }

  /** SES's bounce object as the API's Bounce: its types, and the diagnostic code of this recipient. */
  private static JsonObject bounce(JsonObject detail, String destination) {
    JsonObject out = new JsonObject();
    putPresent(out, "BounceType", bounceType(detail.getString("bounceType")));
    putPresent(out, "BounceSubType", detail.getString("bounceSubType"));
    JsonArray recipients = detail.getJsonArray("bouncedRecipients", new JsonArray());
    for (int i = 0; i < recipients.size(); i++) {
      JsonObject r = recipients.getJsonObject(i);
      if (destination.equalsIgnoreCase(r.getString("emailAddress", ""))) {
        putPresent(out, "DiagnosticCode", r.getString("diagnosticCode"));
        break;
      }
    }
    return out;
  }

  /** {@code Permanent} as {@code PERMANENT}; null for what is no SES bounce type. */
  private static String bounceType(String sesName) {
    try {
      return sesName == null ? null : BounceType.fromSesName(sesName).name();
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static JsonObject complaint(JsonObject detail) {
    JsonObject out = new JsonObject();
    putPresent(out, "ComplaintSubType", detail.getString("complaintSubType"));
    putPresent(out, "ComplaintFeedbackType", detail.getString("complaintFeedbackType"));
    return out;
  }

  /** The Subject header, encoded words decoded; null when there is none or the stored headers do not parse. */
  static String subject(byte[] head) {
    try {
      HeaderBlock block = HeaderBlock.parse(head);
      HeaderBlock.Field subject = block.first("Subject");
      return subject == null ? null : block.decodedValue(subject);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static void putPresent(JsonObject o, String name, Object value) {
    if (value != null) {
      o.put(name, value);
    }
  }
}
