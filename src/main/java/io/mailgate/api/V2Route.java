package io.mailgate.api;

import io.mailgate.OffLoop;
import io.mailgate.SesException;
import io.mailgate.send.Caller;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.function.BiFunction;

/**
 * The shape every SES v2 operation shares: authenticate the signed request, run the operation,
 * answer JSON with its {@code x-amzn-RequestId}, as SES answers every request (the SDKs report it: boto3's
 * {@code ResponseMetadata.RequestId}, JavaScript's {@code $metadata.requestId}); any failure goes to the one SES
 * error mapper.
 */
public final class V2Route {
  private static final String PARSED_BODY = "mailgate.parsedBody";

  private V2Route() {}

  /** An operation of the caller and the request; its result is the response body ({} when null). */
  public static Handler<RoutingContext> of(RequestAuthenticator auth,
      BiFunction<Caller, RoutingContext, Future<JsonObject>> operation) {
    return ctx -> auth.authenticate(ctx.request(), ctx.body().buffer())
        .compose(caller -> isLarge(ctx) ? parsed(ctx).compose(v -> run(operation, caller, ctx))
            : run(operation, caller, ctx))
        .compose(json -> json == null ? Future.succeededFuture("{}") : OffLoop.when(textChars(json, 2), json::encode))
        .onSuccess(text -> ctx.response().putHeader("content-type", "application/json")
            .putHeader(SesErrors.REQUEST_ID, SesErrors.newRequestId())
            .end(text))
        .onFailure(ctx::fail);
  }

  /**
   * The characters of a result's strings, down to {@code depth} levels of objects: what its encoding will take. A
   * rendered template (TestRenderEmailTemplate) or a stored one can be megabytes, encoded on a worker thread then.
   */
  static long textChars(JsonObject json, int depth) {
    long chars = 0;
    for (Object value : json.getMap().values()) {
      if (value instanceof String s) {
        chars += s.length();
      } else if (value instanceof JsonObject o && depth > 1) {
        chars += textChars(o, depth - 1);
      }
    }
    return chars;
  }

  private static Future<JsonObject> run(BiFunction<Caller, RoutingContext, Future<JsonObject>> operation,
      Caller caller, RoutingContext ctx) {
    try {
      return operation.apply(caller, ctx);
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
  }

  private static boolean isLarge(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    return body != null && body.length() > OffLoop.BYTES;
  }

  /**
   * A large body, once its caller is known, is parsed on a worker thread ({@link OffLoop}) for the operation to
   * find; a malformed one fails when the operation asks for it, as a small one does.
   */
  private static Future<Void> parsed(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    return OffLoop.when(body.length(), () -> {
      try {
        return (Object) jsonObject(body);
      } catch (SesException e) {
        return e;
      }
    }).map(parsed -> {
      ctx.put(PARSED_BODY, parsed);
      return null;
    });
  }

  /** The request body as a JSON object; an empty body is an empty object. */
  public static JsonObject body(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    if (body == null || body.length() == 0) {
      return new JsonObject();
    }
    return jsonObject(ctx, body);
  }

  /** The body of an operation that needs one: empty is a BadRequest. */
  public static JsonObject requiredBody(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    if (body == null || body.length() == 0) {
      throw SesException.badRequest("Request body is empty.");
    }
    return jsonObject(ctx, body);
  }

  private static JsonObject jsonObject(RoutingContext ctx, Buffer body) {
    Object parsed = ctx.get(PARSED_BODY);
    if (parsed instanceof SesException e) {
      throw e;
    }
    return parsed != null ? (JsonObject) parsed : jsonObject(body);
  }

  private static JsonObject jsonObject(Buffer body) {
    int i = 0;
    while (i < body.length() && Character.isWhitespace(body.getByte(i))) {
      i++;
    }
    if (i == body.length() || body.getByte(i) != '{') {
      throw SesException.badRequest("Request body must be a JSON object.");
    }
    try {
      return JsonBodies.parseObject(body);
    } catch (DecodeException e) {
      String m = e.getMessage() == null ? "" : e.getMessage();
      int nl = m.indexOf('\n');
      throw SesException.badRequest("Malformed JSON in request body: " + (nl < 0 ? m : m.substring(0, nl)));
    }
  }
}
