package io.mailgate.api;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * SES list operations' paging: {@code PageSize} (1 to 1000) and an opaque {@code NextToken}, read
 * from the query string or, as newer SDKs send some list operations as POST, from the JSON body.
 * The token carries the position after which the next page starts, and a tag of the operation that made it
 * ({@code scope}: its method and path): another operation's token, or a made-up one, is refused as SES refuses it,
 * not read as a position that skips or empties the page.
 */
public record Paging(int pageSize, String after, String scope) {

  public static Paging of(RoutingContext ctx, JsonObject body, int defaultSize) {
    return of(ctx, body, defaultSize, SesError.BAD_REQUEST);
  }

  /** As {@link #of(RoutingContext, JsonObject, int)}, a token that is not one of ours answered with {@code invalid}. */
  public static Paging of(RoutingContext ctx, JsonObject body, int defaultSize, SesError invalid) {
    return of(ctx, body, defaultSize, invalid, "");
  }

  /**
   * As {@link #of(RoutingContext, JsonObject, int)}, for an operation whose list is named in its request rather than
   * its path ({@code list}: a tenant's name, a resource's ARN, a pool's name): a token of another list is refused too.
   */
  public static Paging of(RoutingContext ctx, JsonObject body, int defaultSize, String list) {
    return of(ctx, body, defaultSize, SesError.BAD_REQUEST, list);
  }

  private static Paging of(RoutingContext ctx, JsonObject body, int defaultSize, SesError invalid, String list) {
    int pageSize = pageSize(ctx.request().getParam("PageSize"), body, defaultSize);
    String token = ctx.request().getParam("NextToken");
    if (token == null && body != null && body.getValue("NextToken") instanceof String s) {
      token = s;
    }
    String scope = ctx.request().method().name() + " " + ctx.request().path() + "\n" + list;
    String after = null;
    if (token != null && !token.isEmpty()) {
      String tagged = position(token, invalid);
      String tag = tag(scope);
      if (!tagged.startsWith(tag)) {
        throw invalidToken(invalid);
      }
      after = tagged.substring(tag.length());
    }
    return new Paging(pageSize, after, scope);
  }

  /** The NextToken of this operation's page whose last item is at {@code position}. */
  public String next(String position) {
    return token(tag(scope) + position);
  }

  private static String tag(String scope) {
    return String.format("%08x:", scope.hashCode());
  }

  /** PageSize from the query string ({@code size}) or the JSON body, 1 to 1000; else a BadRequest. */
  static int pageSize(String size, JsonObject body, int defaultSize) {
    int pageSize;
    try {
      Object inBody = body == null ? null : body.getValue("PageSize");
      if (size == null && inBody != null && !(inBody instanceof Number)) {
        throw SesException.badRequest("PageSize must be a number.");
      }
      pageSize = size != null ? Integer.parseInt(size) : inBody instanceof Number n ? wholeInt(n) : defaultSize;
    } catch (NumberFormatException e) {
      throw SesException.badRequest("PageSize must be a number.");
    }
    if (pageSize < 1 || pageSize > 1000) {
      throw SesException.badRequest("PageSize must be between 1 and 1000.");
    }
    return pageSize;
  }

  /** A JSON number that is a whole number within int's range, as it is; any other (10.7, 2^32 + 1) is refused. */
  private static int wholeInt(Number n) {
    double d = n.doubleValue();
    if (d != Math.rint(d) || d < Integer.MIN_VALUE || d > Integer.MAX_VALUE) {
      throw SesException.badRequest("PageSize must be a whole number between 1 and 1000.");
    }
    return (int) d;
  }

  /** The position a NextToken carries; a token that is not one of ours is a BadRequest. */
  public static String position(String token) {
    return position(token, SesError.BAD_REQUEST);
  }

  /** As {@link #position(String)}, a token that is not one of ours answered with {@code invalid}. */
  public static String position(String token, SesError invalid) {
    try {
      return new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw invalidToken(invalid);
    }
  }

  /** The answer to a NextToken that is not one of ours. */
  public static SesException invalidToken(SesError invalid) {
    return new SesException(invalid, "Invalid NextToken.");
  }

  /** The NextToken of a page whose last item is at {@code position}. */
  public static String token(String position) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(position.getBytes(StandardCharsets.UTF_8));
  }
}
