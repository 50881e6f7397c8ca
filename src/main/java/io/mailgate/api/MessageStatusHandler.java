package io.mailgate.api;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.events.EventType;
import io.mailgate.events.SesEvents;
import io.mailgate.send.Caller;
import io.mailgate.store.MessageQuery;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code GET /_mailgate/messages/{MessageId}}: a message, the state of each recipient with its last
 * SMTP reply, and its events in SES event JSON. Signed like any SES request; a message of another
 * account does not exist for the caller.
 */
public final class MessageStatusHandler {
  private final MessageQuery query;
  private final String region;

  public MessageStatusHandler(MessageQuery query, String region) {
    this.query = query;
    this.region = region;
  }

  public Future<JsonObject> get(Caller caller, RoutingContext ctx) {
    return status(caller, ctx.pathParam("messageId"));
  }

  /** The caller's message {@code id}, or NotFound. */
  public Future<JsonObject> status(Caller caller, String id) {
    return query.find(caller.account().id(), id)
        .compose(found -> found.isPresent() ? Future.succeededFuture(render(found.get()))
            : Future.failedFuture(new SesException(SesError.NOT_FOUND, "Message " + id + " does not exist.")));
  }

  JsonObject render(MessageQuery.StoredMessage m) {
    List<String> destination = new ArrayList<>();
    JsonArray recipients = new JsonArray();
    for (MessageQuery.StoredRecipient r : m.recipients()) {
      destination.add(r.address());
      JsonObject j = new JsonObject()
          .put("Address", r.address())
          .put("Status", r.state().toUpperCase(Locale.ROOT))
          .put("Attempts", r.attempts())
          .put("UpdatedAt", r.updatedAt().toString());
      if (r.smtpCode() != null) {
        j.put("SmtpCode", r.smtpCode());
      }
      if (r.smtpReply() != null) {
        j.put("SmtpResponse", r.smtpReply());
      }
      recipients.add(j);
    }
    JsonObject mail = SesEvents.mail(new SesEvents.MailFacts(m.id(), m.accountId(), region, m.source(),
        m.createdAt(), destination, m.configurationSet(), m.tags(), m.head(), m.sourceIp(), m.callerIdentity(),
        m.identityAccount(), m.identityName(), m.operation(), m.replacedFields(), m.sourceTls()));
    JsonArray events = new JsonArray();
    for (MessageQuery.StoredEvent e : m.events()) {
      events.add(SesEvents.event(EventType.fromSesName(e.type()), mail, e.detail()));
    }
    return new JsonObject()
        .put("MessageId", m.id())
        .put("Source", m.source())
        .put("EnvelopeFrom", m.envelopeFrom())
        .put("ConfigurationSetName", m.configurationSet())
        .put("TenantName", m.tenant())
        .put("Tags", m.tags())
        .put("Size", m.size())
        .put("Timestamp", m.createdAt().toString())
        .put("Recipients", recipients)
        .put("Events", events);
  }
}
