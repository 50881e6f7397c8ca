package io.mailgate.api.tracking;

import io.mailgate.api.ClientAddress;
import io.mailgate.events.SesEvents;
import io.mailgate.metrics.Metrics;
import io.mailgate.store.TrackingStore;
import io.mailgate.tracking.TrackingTokens;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The open pixel ({@code GET /t/o/{token}}) and tracked links ({@code GET /t/c/{token}}) of messages sent with a
 * configuration set that wants Open or Click events. No authentication: the token is its own proof (an HMAC under the
 * cluster's master key), so only links Mailgate wrote redirect, and only where their author pointed them. The event
 * is committed before the answer; when it cannot be, the reader still gets the image or the page (the event is lost,
 * and logged), since the recipient is not the one to fail.
 */
public final class TrackingHandler {
  private static final Logger LOG = Logger.getLogger(TrackingHandler.class.getName());
  private static final io.mailgate.store.OutageLog OUTAGES = new io.mailgate.store.OutageLog(LOG);
  /** A transparent 1x1 GIF. */
  private static final Buffer PIXEL = Buffer.buffer(new byte[] {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, (byte) 0x80,
      0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 0xff, '!', (byte) 0xf9, 4, 1, 0, 0, 0, 0, ',', 0, 0, 0, 0, 1, 0,
      1, 0, 0, 2, 2, 'D', 1, 0, ';'});
  /** What of a User-Agent header an event keeps. */
  static final int MAX_USER_AGENT = 1024;

  /** How long a reader waits for its hit's commit before the answer goes out anyway (and a sweep's period more). */
  static final long ANSWER_WITHIN_MILLIS = 1_000;
  private static final long SWEEP_MILLIS = 250;

  /** This event loop's hits waiting for their commit, oldest first ({@link #sweep}); touched on the loop only. */
  private final java.util.ArrayDeque<Waiting> waiting = new java.util.ArrayDeque<>();
  private long sweeper = -1;

  private final TrackingTokens tokens;
  private final TrackingStore store;
  private final Clock clock;
  private final Metrics metrics;
  /** Refusals for a full queue are logged once per node: they come by the thousand. */
  private static final java.util.concurrent.atomic.AtomicBoolean busyLogged = new java.util.concurrent.atomic.AtomicBoolean();

  private final ClientAddress clients;

  public TrackingHandler(TrackingTokens tokens, TrackingStore store, Clock clock, Metrics metrics,
      ClientAddress clients) {
    this.clients = clients;
    this.tokens = tokens;
    this.store = store;
    this.clock = clock;
    this.metrics = metrics;
  }

  public void open(RoutingContext ctx) {
    Optional<TrackingTokens.Token> token = tokens.read(host(ctx), ctx.pathParam("token"));
    if (token.isEmpty() || token.get().kind() != TrackingTokens.Kind.OPEN) {
      notOurs(ctx);
      return;
    }
    Runnable answer = () -> noStore(ctx.response()).putHeader("Content-Type", "image/gif").end(PIXEL);
    if (ctx.request().method() == HttpMethod.HEAD) {
      answer.run(); // a link checker asking whether it exists, not a reader: no Open
      return;
    }
    Instant now = clock.instant();
    record(ctx, token.get().messageId(), Metrics.TrackingHit.OPEN, reader(ctx, now), now, answer);
  }

  public void click(RoutingContext ctx) {
    Optional<TrackingTokens.Token> token = tokens.read(host(ctx), ctx.pathParam("token"));
    if (token.isEmpty() || token.get().kind() != TrackingTokens.Kind.CLICK) {
      notOurs(ctx);
      return;
    }
    TrackingTokens.Token t = token.get();
    String location = location(t.link());
    Runnable answer = () -> noStore(ctx.response()).setStatusCode(302).putHeader("Location", location)
        .putHeader("Referrer-Policy", "no-referrer").end();
    if (ctx.request().method() == HttpMethod.HEAD) {
      answer.run(); // a link checker (a mail gateway's, say) asking where it goes, not a reader: no Click
      return;
    }
    Instant now = clock.instant();
    JsonObject detail = reader(ctx, now).put("link", t.link());
    if (t.linkTags() != null && !t.linkTags().isEmpty()) {
      JsonObject tags = new JsonObject();
      for (Map.Entry<String, List<String>> e : t.linkTags().entrySet()) {
        tags.put(e.getKey(), new JsonArray(List.copyOf(e.getValue())));
      }
      detail.put("linkTags", tags);
    }
    record(ctx, t.messageId(), Metrics.TrackingHit.CLICK, detail, now, answer);
  }

  /**
   * Records the hit, then answers; but a reader is not kept waiting on the database: past {@link #ANSWER_WITHIN_MILLIS}
   * (a stalled commit, a failover) the redirect or the image goes out at the next sweep, and the hit is still recorded
   * when it can be.
   */
  private void record(RoutingContext ctx, String messageId, Metrics.TrackingHit hit, JsonObject detail, Instant at,
      Runnable answer) {
    String type = hit == Metrics.TrackingHit.OPEN ? "Open" : "Click";
    Waiting w = new Waiting(answer, System.nanoTime() + ANSWER_WITHIN_MILLIS * 1_000_000L);
    waiting.add(w);
    if (sweeper < 0) {
      sweeper = ctx.vertx().setPeriodic(SWEEP_MILLIS, id -> sweep());
    }
    store.record(new TrackingStore.Hit(messageId, type, detail.encode(), at)).onComplete(ar -> {
      if (ar.failed()) {
        metrics.tracked(Metrics.TrackingHit.UNRECORDED);
        if (io.mailgate.store.OutageLog.unreachable(ar.cause())) {
          OUTAGES.warn(() -> "opens and clicks not recorded: the database cannot be reached (" + ar.cause() + ")");
        } else if (!(ar.cause() instanceof TrackingStore.Busy) || busyLogged.compareAndSet(false, true)) {
          LOG.log(Level.WARNING, type + " of message " + messageId + " not recorded: " + ar.cause().getMessage()
              + (ar.cause() instanceof TrackingStore.Busy ? " (logged once; see mailgate_tracking_hits_total)" : ""));
        }
      } else {
        metrics.tracked(hit);
      }
      w.answerOnce();
    });
  }

  /**
   * A hit waiting for its commit, and its answer. One periodic sweep per event loop answers those past their time,
   * rather than a timer set and cancelled for every hit.
   */
  private static final class Waiting {
    final java.util.concurrent.atomic.AtomicBoolean answered = new java.util.concurrent.atomic.AtomicBoolean();
    final Runnable answer;
    final long dueNanos;

    Waiting(Runnable answer, long dueNanos) {
      this.answer = answer;
      this.dueNanos = dueNanos;
    }

    void answerOnce() {
      if (answered.compareAndSet(false, true)) {
        answer.run();
      }
    }
  }

  /** Answers the hits still waiting past their time (they are in the order they came, so the first not due ends it). */
  private void sweep() {
    long now = System.nanoTime();
    for (Waiting w = waiting.peek(); w != null; w = waiting.peek()) {
      if (!w.answered.get() && now - w.dueNanos < 0) {
        return;
      }
      waiting.poll();
      w.answerOnce();
    }
  }

  /** The host the request was made to (its Host header): a token is valid under its own host only. */
  private static String host(RoutingContext ctx) {
    return ctx.request().authority() == null ? "" : ctx.request().authority().host();
  }

  /** SES's open and click objects: who fetched it (as far as this node can tell) and when. */
  private JsonObject reader(RoutingContext ctx, Instant at) {
    String ua = ctx.request().getHeader("User-Agent");
    return new JsonObject()
        .put("ipAddress", clients.of(ctx.request()))
        .put("timestamp", SesEvents.time(at))
        .put("userAgent", userAgent(ua));
  }

  /** The header as an event can keep it: at most {@link #MAX_USER_AGENT} characters, control characters as spaces. */
  static String userAgent(String header) {
    if (header == null) {
      return "";
    }
    String ua = header.length() > MAX_USER_AGENT ? header.substring(0, MAX_USER_AGENT) : header;
    StringBuilder b = null;
    for (int i = 0; i < ua.length(); i++) {
      char c = ua.charAt(i);
      if (c < 0x20 || c == 0x7f || Character.isSurrogate(c)) {
        if (b == null) {
          b = new StringBuilder(ua);
        }
        b.setCharAt(i, ' ');
      }
    }
    return b == null ? ua : b.toString();
  }

  private void notOurs(RoutingContext ctx) {
    metrics.tracked(Metrics.TrackingHit.INVALID);
    noStore(ctx.response()).setStatusCode(404).putHeader("Content-Type", "text/plain; charset=utf-8")
        .end("This link is not valid.\n");
  }

  private static HttpServerResponse noStore(HttpServerResponse r) {
    return r.putHeader("Cache-Control", "no-cache, no-store, must-revalidate, private")
        .putHeader("X-Robots-Tag", "noindex, nofollow");
  }

  /**
   * The link as a Location header: ASCII, as a browser sends it. Tabs and line breaks are dropped (the URL standard
   * drops them too: an author's href may span lines); other controls, spaces and non-ASCII characters are
   * percent-encoded as UTF-8.
   */
  static String location(String link) {
    StringBuilder b = new StringBuilder(link.length() + 16);
    for (byte x : link.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xff;
      if (c == '\t' || c == '\n' || c == '\r') {
        continue;
      }
      if (c <= 0x20 || c >= 0x7f) {
        b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
      } else {
        b.append((char) c);
      }
    }
    return b.toString();
  }
}
