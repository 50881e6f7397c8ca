package io.mailgate.api.sesv2;

import io.mailgate.OffLoop;
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

  /** The request read (a large one's base64 decoded) on a worker thread when large ({@link OffLoop}). */
  public Future<JsonObject> sendEmail(Caller caller, RoutingContext ctx) {
    JsonObject body = V2Route.requiredBody(ctx); // a large one was parsed on a worker already
    return OffLoop.when(ctx.body().length(), () -> SendEmailRequests.parse(body))
        .compose(request -> sends.send(caller, request))
        .map(id -> new JsonObject().put("MessageId", id));
  }

  /** A SendEmail request already read as JSON (the console's test email): its MessageId. */
  public Future<String> send(Caller caller, JsonObject body) {
    return Future.succeededFuture(body).map(SendEmailRequests::parse).compose(request -> sends.send(caller, request));
  }
}
