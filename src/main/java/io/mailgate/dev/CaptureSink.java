package io.mailgate.dev;

import io.mailgate.EventBusAddresses;
import io.mailgate.send.HeaderBlock;
import io.mailgate.smtp.Envelope;
import io.mailgate.smtp.Recipient;
import io.mailgate.smtp.SmtpReply;
import io.mailgate.smtp.SmtpServer;
import io.mailgate.smtp.SmtpServerOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * start-dev's stand-in for the internet: an SMTP server on a local port that the delivery engine
 * relays to like any other, keeping the last messages in memory for {@code GET
 * /_mailgate/captured}. Because delivery really speaks SMTP to it, development exercises the same
 * path as production.
 */
public final class CaptureSink {

  /** One captured message: envelope and exact content. */
  record Captured(long id, Instant receivedAt, String mailFrom, java.util.List<String> rcptTo, byte[] content) {}

  /**
   * What the kept messages may hold in all, oldest dropped first (the newest is kept whatever its size): 1,000 messages
   * with a large attachment each would not fit in start-dev's 512 MB heap, nor would listing them.
   */
  static final long MAX_BYTES = 32L * 1024 * 1024;

  private final ConcurrentLinkedDeque<Captured> messages = new ConcurrentLinkedDeque<>();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong ids = new AtomicLong();
  private final int limit;
  private final long maxBytes;
  private SmtpServer server;
  private MessageConsumer<JsonObject> consumer;

  private CaptureSink(int limit, long maxBytes) {
    this.limit = limit;
    this.maxBytes = maxBytes;
  }

  public static Future<CaptureSink> start(Vertx vertx, int limit) {
    return start(vertx, limit, MAX_BYTES);
  }

  static Future<CaptureSink> start(Vertx vertx, int limit, long maxBytes) {
    CaptureSink sink = new CaptureSink(limit, maxBytes);
    SmtpServerOptions options = new SmtpServerOptions()
        .setHost("127.0.0.1")
        .setPort(0)
        .setServerName("capture.mailgate.local")
        .setMaxMessageSize(64L * 1024 * 1024);
    sink.consumer = vertx.eventBus().localConsumer(EventBusAddresses.DEV_CAPTURED, msg -> {
      JsonObject q = msg.body();
      if (q.getBoolean("clear", false)) {
        while (sink.dropOldest()) {
          // emptied one by one, each message's bytes given back
        }
      }
      msg.reply(sink.list(q.getInteger("limit", limit)));
    });
    return SmtpServer.start(vertx, options, (session, envelope, message) -> sink.capture(envelope, message))
        .map(server -> {
          sink.server = server;
          return sink;
        });
  }

  public int port() {
    return server.actualPort();
  }

  public Future<Void> close() {
    return consumer.unregister().compose(v -> server.close());
  }

  private CompletableFuture<SmtpReply> capture(Envelope envelope, byte[] message) {
    long id = ids.incrementAndGet();
    messages.addFirst(new Captured(id, Instant.now(), envelope.reversePath(),
        envelope.recipients().stream().map(Recipient::address).toList(), message));
    bytes.addAndGet(message.length);
    while ((messages.size() > limit || bytes.get() > maxBytes && messages.size() > 1) && dropOldest()) {
      // dropped
    }
    return CompletableFuture.completedFuture(SmtpReply.queued("capture-" + id));
  }

  private boolean dropOldest() {
    Captured oldest = messages.pollLast();
    if (oldest != null) {
      bytes.addAndGet(-oldest.content().length);
    }
    return oldest != null;
  }

  /** What the kept messages hold, in bytes. */
  long bytes() {
    return bytes.get();
  }

  /** Newest first. */
  JsonArray list(int max) {
    JsonArray out = new JsonArray();
    Iterator<Captured> it = messages.iterator();
    while (it.hasNext() && out.size() < max) {
      out.add(toJson(it.next()));
    }
    return out;
  }

  private static JsonObject toJson(Captured c) {
    JsonArray headers = new JsonArray();
    String subject = null;
    try {
      HeaderBlock block = HeaderBlock.parse(c.content());
      for (HeaderBlock.Field f : block.fields()) {
        headers.add(new JsonObject().put("name", f.name()).put("value", block.decodedValue(f)));
        if (subject == null && f.is("Subject")) {
          subject = block.decodedValue(f);
        }
      }
    } catch (IllegalArgumentException e) {
      // keep the raw message; headers stay empty for malformed content
    }
    return new JsonObject()
        .put("Id", c.id())
        .put("ReceivedAt", c.receivedAt().toString())
        .put("Envelope", new JsonObject().put("MailFrom", c.mailFrom()).put("RcptTo", new JsonArray(c.rcptTo())))
        .put("Subject", subject)
        .put("Headers", headers)
        .put("Size", c.content().length)
        .put("Raw", new String(c.content(), StandardCharsets.UTF_8));
  }
}
