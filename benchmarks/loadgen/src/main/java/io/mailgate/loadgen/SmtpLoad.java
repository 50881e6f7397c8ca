package io.mailgate.loadgen;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * {@code --mode smtp}: what {@code smtp-source -s N -d -l BYTES} does (N sessions, each sending one message after
 * another over the same connection), plus what smtp-source cannot: AUTH PLAIN once per session with SES SMTP
 * credentials. MAIL, RCPT and DATA go in one write (PIPELINING), or with {@code --pipelining false} one after the
 * other's reply as smtp-source sends them, then the message. Counts the messages answered 250
 * after their data within the measured window, like the HTTP modes, and prints the same {@code result} line.
 */
final class SmtpLoad {
  private final String host;
  private final int port;
  private final String user;
  private final String password;
  private final Buffer envelope;
  /**
   * MAIL, RCPT and DATA in one write (RFC 2920), or each after the reply to the one before, as smtp-source sends them
   * ({@code --pipelining false}: the same load as smtp-source gives Postfix).
   */
  private final boolean pipelining;
  private final Buffer message;
  private final long windowStart;
  private final long windowEnd;
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final AtomicLong total = new AtomicLong();
  private final AtomicLong progress = new AtomicLong();
  /** Sessions still open: after the window each finishes its message in flight and quits. */
  private final java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
  private volatile String firstError;

  private SmtpLoad(Options o, long windowStart, long windowEnd) {
    this.host = o.string("smtp-host", "127.0.0.1");
    this.port = o.integer("smtp-port", 2587);
    this.user = o.string("access-key", "AKIAMAILGATEDEV00001");
    this.password = o.has("smtp-password") ? o.string("smtp-password", "")
        : sesSmtpPassword(o.string("secret-key", "mailgate/dev/secret/key/0000000000000000"), o.string("region", "us-east-1"));
    String from = "bench-sender@example.com";
    this.envelope = Buffer.buffer("MAIL FROM:<" + from + ">\r\nRCPT TO:<rcpt0-smtp@example.org>\r\nDATA\r\n");
    this.pipelining = !o.string("pipelining", "true").equals("false");
    String text = SendEmailBodies.jsonEscapedText(o.integer("body-bytes", 2048)).replace("\\n", "\r\n");
    this.message = Buffer.buffer(("From: Mailgate Bench <" + from + ">\r\nTo: rcpt0-smtp@example.org\r\n"
        + "Subject: Mailgate SMTP benchmark\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        + text + (text.endsWith("\r\n") ? "" : "\r\n") + ".\r\n").getBytes(StandardCharsets.US_ASCII));
    this.windowStart = windowStart;
    this.windowEnd = windowEnd;
  }

  static void run(Options o) throws Exception {
    int connections = o.integer("connections", 50);
    double warmup = o.decimal("warmup", 5);
    double duration = o.decimal("duration", 30);
    SinkCounter sink = o.has("sink-file") ? new SinkCounter(o.string("sink-file", "")) : null;
    long t0 = System.nanoTime() + 200_000_000L;
    long windowStart = t0 + (long) (warmup * 1e9);
    long windowEnd = windowStart + (long) (duration * 1e9);
    SmtpLoad load = new SmtpLoad(o, windowStart, windowEnd);
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    try {
      System.out.printf(Locale.ROOT, "loadgen: mode=smtp smtp=%s:%d connections=%d message_bytes=%d warmup=%.0fs "
          + "duration=%.0fs%n", load.host, load.port, connections, load.message.length() - 3, warmup, duration);
      NetClient client = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true));
      for (int i = 0; i < connections; i++) {
        load.session(client);
      }
      long sinkStart = -1;
      long sinkEnd = -1;
      long sinkStartAt = 0;
      long sinkEndAt = 0;
      long next = t0 + 5_000_000_000L;
      long last = 0;
      long lastAt = t0;
      while (true) {
        long now = System.nanoTime();
        if (sinkStartAt == 0 && now >= windowStart) {
          sinkStartAt = now;
          sinkStart = sink == null ? -1 : sink.messages();
        }
        if (now >= windowEnd) {
          sinkEndAt = now;
          sinkEnd = sink == null ? -1 : sink.messages();
          break;
        }
        if (now >= next) {
          long p = load.progress.get();
          System.out.printf(Locale.ROOT, "  t=%5.1fs %s accepted/s=%.0f errors=%d%s%n", (now - t0) / 1e9,
              now < windowStart ? "warmup " : "measure", (p - last) / ((now - lastAt) / 1e9), load.errors.get(),
              sink == null ? "" : " sink=" + sink.messages());
          last = p;
          lastAt = now;
          next += 5_000_000_000L;
        }
        TimeUnit.MILLISECONDS.sleep(Math.max(1, (Math.min(next, sinkStartAt == 0 ? windowStart : windowEnd) - now) / 1_000_000));
      }
      // every message sent gets its answer before the totals are read (the drain check compares them with the sink)
      long drainUntil = System.nanoTime() + 60_000_000_000L;
      while (load.open.get() > 0 && System.nanoTime() < drainUntil) {
        TimeUnit.MILLISECONDS.sleep(10);
      }
      double perS = load.accepted.get() / duration;
      String delivered = sink != null && sinkStart >= 0 && sinkEnd >= 0
          ? LoadGen.fmt(Math.max(0, sinkEnd - sinkStart) / ((sinkEndAt - sinkStartAt) / 1e9)) : "na";
      System.out.printf(Locale.ROOT, "window %.1f s: %d accepted (250 after DATA) = %s/s, %d errors%s%n", duration,
          load.accepted.get(), LoadGen.fmt(perS), load.errors.get(),
          load.firstError == null ? "" : "; first: " + load.firstError);
      System.out.printf(Locale.ROOT, "result mode=smtp connections=%d duration_s=%s accepted=%d accepted_per_s=%s "
              + "errors=%d delivered_per_s=%s total_accepted=%d%n", connections, LoadGen.fmt(duration),
          load.accepted.get(), LoadGen.fmt(perS), load.errors.get(), delivered, load.total.get());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /** One session: greeting, EHLO, AUTH, then messages until the window ends. */
  private void session(NetClient client) {
    client.connect(port, host).onFailure(e -> error("connect: " + e.getMessage())).onSuccess(socket -> {
      open.incrementAndGet();
      Session s = new Session(socket);
      RecordParser lines = RecordParser.newDelimited("\r\n", s::line);
      socket.handler(lines);
      socket.closeHandler(v -> {
        open.decrementAndGet();
        if (System.nanoTime() < windowEnd) {
          error("connection closed by the server");
        }
      });
    });
  }

  private final class Session {
    private final NetSocket socket;
    /** Replies still to come for what was sent, and the step they finish. */
    private int step;
    private int pending = 1; // the greeting
    private boolean failed;

    Session(NetSocket socket) {
      this.socket = socket;
    }

    void line(Buffer b) {
      String line = b.toString(StandardCharsets.ISO_8859_1);
      if (line.length() > 3 && line.charAt(3) == '-') {
        return; // more lines of this reply follow
      }
      char c = line.isEmpty() ? '5' : line.charAt(0);
      boolean ok = c == '2' || c == '3';
      if (!ok && !failed) {
        failed = true;
        error(line);
      }
      if (--pending > 0) {
        return;
      }
      switch (step) {
        case 0 -> send(1, 1, "EHLO loadgen.bench\r\n");
        case 1 -> send(2, 1, "AUTH PLAIN " + Base64.getEncoder().encodeToString(
            ("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8)) + "\r\n");
        case 2 -> {
          if (failed) {
            socket.close();
          } else {
            nextMessage();
          }
        }
        case 3 -> {
          if (failed) {
            send(5, 1, "RSET\r\n");
          } else {
            step = 4;
            pending = 1;
            socket.write(message);
          }
        }
        case 4 -> {
          if (!failed) {
            long now = System.nanoTime();
            total.incrementAndGet();
            progress.incrementAndGet();
            if (now >= windowStart && now < windowEnd) {
              accepted.incrementAndGet();
            }
          }
          nextMessage();
        }
        case 5 -> nextMessage();
        case 6 -> { }
        case 7 -> send(8, 1, "RCPT TO:<rcpt0-smtp@example.org>\r\n");
        case 8 -> send(3, 1, "DATA\r\n");
        default -> throw new IllegalStateException("step " + step);
      }
    }

    private void nextMessage() {
      failed = false;
      if (System.nanoTime() >= windowEnd) {
        step = 6;
        pending = Integer.MAX_VALUE; // whatever comes now (221) ends nothing
        socket.write("QUIT\r\n").onComplete(v -> socket.close());
        return;
      }
      if (pipelining) {
        send(3, 3, null);
      } else {
        send(7, 1, "MAIL FROM:<bench-sender@example.com>\r\n");
      }
    }

    private void send(int nextStep, int replies, String text) {
      step = nextStep;
      pending = replies;
      socket.write(text == null ? envelope : Buffer.buffer(text));
    }
  }

  private void error(String what) {
    errors.incrementAndGet();
    if (firstError == null) {
      firstError = what;
    }
  }

  /** SES's SMTP password of a secret (version 4), as Mailgate and SES check it. */
  static String sesSmtpPassword(String secret, String region) {
    try {
      byte[] k = ("AWS4" + secret).getBytes(StandardCharsets.UTF_8);
      for (String part : new String[] {"11111111", region, "ses", "aws4_request", "SendRawEmail"}) {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(k, "HmacSHA256"));
        k = mac.doFinal(part.getBytes(StandardCharsets.UTF_8));
      }
      byte[] out = new byte[k.length + 1];
      out[0] = 0x04;
      System.arraycopy(k, 0, out, 1, k.length);
      return Base64.getEncoder().encodeToString(out);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
