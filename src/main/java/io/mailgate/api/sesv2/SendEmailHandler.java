package io.mailgate.api.sesv2;

import io.mailgate.api.V2Route;
import io.mailgate.send.Caller;
import io.mailgate.send.SendService;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** SES v2 {@code POST /v2/email/outbound-emails} (SendEmail). */
public final class SendEmailHandler {
  private final SendService sends;

  public SendEmailHandler(SendService sends) {
    this.sends = sends;
  }

  public Future<JsonObject> sendEmail(Caller caller, RoutingContext ctx) {
    return sends.send(caller, SendEmailRequests.parse(V2Route.requiredBody(ctx)))
        .map(id -> new JsonObject().put("MessageId", id));
  }
}
