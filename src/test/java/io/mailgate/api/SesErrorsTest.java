package io.mailgate.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.api.sesv1.QueryApi;
import io.mailgate.store.OutageLog;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.pgclient.PgException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * A failure nobody expected is answered as SES answers one (InternalFailure, no stack trace) and logged with its stack
 * trace and the request id the caller was given, in both API shapes, so the id a client reports finds the log line.
 */
class SesErrorsTest {
  private static final String UUID_V4 = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

  @Test
  void anUnexpectedFailureIsLoggedWithTheRequestIdItWasAnsweredWith() throws Exception {
    IllegalStateException bug = new IllegalStateException("a bug");
    Vertx vertx = Vertx.vertx();
    List<LogRecord> logged = new CopyOnWriteArrayList<>();
    Logger log = Logger.getLogger(SesErrors.class.getName());
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord r) {
        logged.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    log.addHandler(capture);
    try {
      Router router = Router.router(vertx);
      router.route("/v1").handler(ctx -> {
        throw bug;
      }).failureHandler(ctx -> QueryApi.fail(ctx, ctx.failure()));
      router.route("/v2/*").handler(ctx -> {
        throw bug;
      }).failureHandler(ctx -> SesErrors.failV2(ctx, ctx.failure()));
      HttpServer server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      HttpClient http = HttpClient.newHttpClient();
      String base = "http://127.0.0.1:" + server.actualPort();

      HttpResponse<String> v2 = http.send(HttpRequest.newBuilder(URI.create(base + "/v2/email/account")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(500, v2.statusCode());
      assertEquals("InternalFailure", v2.headers().firstValue("x-amzn-ErrorType").orElse(null));
      assertTrue(!v2.body().contains("a bug") && !v2.body().contains("Exception"), v2.body());
      String v2Id = v2.headers().firstValue(SesErrors.REQUEST_ID).orElseThrow();
      assertTrue(v2Id.matches(UUID_V4), v2Id);

      HttpResponse<String> v1 = http.send(HttpRequest.newBuilder(URI.create(base + "/v1")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(500, v1.statusCode());
      String v1Id = v1.headers().firstValue(SesErrors.REQUEST_ID).orElseThrow();
      assertTrue(v1Id.matches(UUID_V4), v1Id);
      assertTrue(v1.body().contains("<RequestId>" + v1Id + "</RequestId>"), v1.body());
      assertTrue(!v1.body().contains("a bug"), v1.body());
      assertNotEquals(v1Id, v2Id);

      assertEquals(2, logged.size(), "one line per failure");
      for (int i = 0; i < 2; i++) {
        LogRecord r = logged.get(i);
        assertEquals(Level.SEVERE, r.getLevel());
        assertSame(bug, r.getThrown(), "with its stack trace");
        assertTrue(r.getMessage().contains("(request id " + (i == 0 ? v2Id : v1Id) + ")"), r.getMessage());
      }
    } finally {
      log.removeHandler(capture);
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void requestIdsAreVersionFourUuidsThatDoNotRepeat() {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      String id = SesErrors.newRequestId();
      assertTrue(id.matches(UUID_V4), id);
      assertTrue(seen.add(id), id);
    }
  }
  /**
   * A database that cannot serve now is told apart from a bug and from an answer about the request's data: a refused
   * or lost connection and PostgreSQL's "cannot connect", "insufficient resources" and "shutting down" classes, here or
   * as a cause, but not a constraint or data error, nor a failure of ours.
   */
  @Test
  void aDatabaseThatCannotServeNowIsToldApart() {
    assertTrue(OutageLog.unreachable(new java.net.ConnectException("Connection refused")));
    assertTrue(OutageLog.unreachable(new RuntimeException("wrapped", new java.net.ConnectException("refused"))));
    assertTrue(OutageLog.unreachable(new PgException("the database system is starting up", "FATAL",
        "57P03", null)));
    assertTrue(OutageLog.unreachable(new PgException("sorry, too many clients already", "FATAL",
        "53300", null)));
    assertTrue(OutageLog.unreachable(new PgException("connection failure", "FATAL", "08006", null)));
    assertTrue(!OutageLog.unreachable(new PgException("duplicate key", "ERROR", "23505", null)));
    assertTrue(!OutageLog.unreachable(new PgException("canceling statement", "ERROR", "57014", null)));
    assertTrue(!OutageLog.unreachable(new IllegalStateException("a bug")));
    assertTrue(!OutageLog.unreachable(null));
  }
}
