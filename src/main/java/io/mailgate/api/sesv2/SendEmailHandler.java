package io.mailgate.api.sesv2;

import io.mailgate.SesException;
import io.mailgate.api.RequestAuthenticator;
import io.mailgate.send.SendRequest;
import io.mailgate.send.SendService;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** SES v2 {@code POST /v2/email/outbound-emails} (SendEmail). */
public final class SendEmailHandler {
  private final RequestAuthenticator auth;
  private final SendService sends;

  public SendEmailHandler(RequestAuthenticator auth, SendService sends) {
    this.auth = auth;
    this.sends = sends;
  }

  public void handle(RoutingContext ctx) {
    auth.authenticate(ctx.request())
        .compose(caller -> {
          SendRequest request;
          try {
            request = SendEmailRequests.parse(jsonBody(ctx));
          } catch (SesException e) {
            return Future.failedFuture(e);
          }
          return sends.send(caller, request);
        })
        .onSuccess(id -> ctx.response()
            .putHeader("content-type", "application/json")
            .end("{\"MessageId\":\"" + id + "\"}"))
        .onFailure(ctx::fail);
  }

  static JsonObject jsonBody(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    if (body == null || body.length() == 0) {
      throw SesException.badRequest("Request body is empty.");
    }
    int i = 0;
    while (i < body.length() && Character.isWhitespace(body.getByte(i))) {
      i++;
    }
    if (i == body.length() || body.getByte(i) != '{') {
      throw SesException.badRequest("Request body must be a JSON object.");
    }
    try {
      return new JsonObject(body);
    } catch (DecodeException e) {
      throw SesException.badRequest("Malformed JSON in request body: " + firstLine(e.getMessage()));
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    String line = nl < 0 ? s : s.substring(0, nl);
    return line.length() > 200 ? line.substring(0, 200) : line;
  }
}
