package io.mailgate.api;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one place errors become responses, in SES's shape: v2 REST answers
 * {@code x-amzn-ErrorType: <Type>} and {@code {"message": "..."}} with the SES status code.
 * Anything that is not an {@link SesException} is a bug: logged with its stack trace, answered as
 * a retryable InternalFailure without one.
 */
public final class SesErrors {
  private static final Logger LOG = Logger.getLogger(SesErrors.class.getName());
  /** The header every SES v2 answer carries, error or not. */
  public static final String REQUEST_ID = "x-amzn-RequestId";

  private SesErrors() {}

  public static void failV2(RoutingContext ctx, Throwable failure) {
    String requestId = newRequestId();
    SesException e = toSes(ctx, failure, requestId);
    HttpServerResponse resp = ctx.response();
    if (resp.headWritten()) {
      resp.reset();
      return;
    }
    io.mailgate.metrics.Metrics.of(ctx.vertx()).refused("v2", e.error().v2Type);
    resp.setStatusCode(e.error().status)
        .putHeader("x-amzn-ErrorType", e.error().v2Type)
        .putHeader(REQUEST_ID, requestId)
        .putHeader("content-type", "application/json")
        .end(new JsonObject().put("message", e.getMessage()).encode());
  }

  /**
   * PostgreSQL's errors for text it cannot take: 22021 (a NUL, or bytes that are not UTF-8) and 22P05 (untranslatable,
   * such as U+0000 in jsonb).
   */
  private static final java.util.Set<String> TEXT_PG_CANNOT_STORE = java.util.Set.of("22021", "22P05");
  private static final io.mailgate.store.OutageLog OUTAGES = new io.mailgate.store.OutageLog(LOG);

  /**
   * A request id in the shape SES gives them (a version 4 UUID), for {@link #REQUEST_ID}: one per answer, so drawn from
   * the thread's fast generator rather than {@link UUID#randomUUID}'s SecureRandom; an id names a request, it guards
   * nothing.
   */
  public static String newRequestId() {
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L; // version 4
    long low = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L; // the IETF variant
    return new UUID(high, low).toString();
  }

  /**
   * Maps whatever failed the request to the SES error the caller sees. An unexpected failure is logged with the
   * request id the caller is answered with, so the id a client reports finds its stack trace.
   */
  public static SesException toSes(RoutingContext ctx, Throwable failure, String requestId) {
    if (failure instanceof SesException e) {
      return e;
    }
    if (failure == null) {
      int status = ctx.statusCode();
      if (status == 413) {
        return SesException.badRequest("Request body is larger than the maximum message size.");
      }
      if (status == 404) {
        return new SesException(SesError.UNKNOWN_OPERATION, "Unknown operation.");
      }
      if (status == 405) {
        return new SesException(SesError.METHOD_NOT_ALLOWED, "Method not allowed.");
      }
      if (status >= 400 && status < 500) {
        return SesException.badRequest("Bad request.");
      }
    }
    if (failure instanceof io.vertx.pgclient.PgException pg && TEXT_PG_CANNOT_STORE.contains(pg.getSqlState())) {
      // a NUL or the like in some text field that no check of ours refused first: the client's input, not our failure
      return SesException.badRequest("The request contains a character that cannot be stored (NUL or a control "
          + "character).");
    }
    if (failure instanceof io.vertx.core.http.HttpClosedException) {
      // the client went away before its body was read (or the node closed a trickling upload): nobody to answer
      return SesException.badRequest("Connection closed before the request was read.");
    }
    if (io.mailgate.store.OutageLog.unreachable(failure)) {
      // not a bug: the database is away (a restart, a failover) and the request may be made again; SES answers its own
      // outages 503, which SDKs retry with backoff. Logged once in a while, not once a request for the whole outage
      OUTAGES.warn(() -> "answering 503 ServiceUnavailable: the database cannot be reached (" + failure
          + "); request id " + requestId + " on " + ctx.request().method() + " " + ctx.request().path());
      return new SesException(SesError.SERVICE_UNAVAILABLE, "The service cannot reach its database right now. Retry "
          + "the request.");
    }
    LOG.log(Level.SEVERE, "unexpected failure on " + ctx.request().method() + " " + ctx.request().path()
        + " (request id " + requestId + ")", failure);
    return new SesException(SesError.INTERNAL_FAILURE, "An internal error occurred. Retry the request.");
  }
}
