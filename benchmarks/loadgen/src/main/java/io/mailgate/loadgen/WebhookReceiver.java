package io.mailgate.loadgen;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The webhook of the events scenario, as {@code smtp-sink} is the SMTP peer of the others: answers every POST with
 * 204 at once and writes how many it received, with their bytes and how many carried a {@code webhook-signature},
 * to a file ten times a second ({@code posts=N bytes=B signed=S}, replaced atomically), until it is killed.
 */
final class WebhookReceiver {
  private WebhookReceiver() {}

  static void run(Options options) throws Exception {
    int port = options.integer("port", 0);
    String countFile = options.string("count-file", null);
    if (port <= 0 || countFile == null) {
      throw new IllegalArgumentException("--mode webhook needs --port P and --count-file F");
    }
    AtomicLong posts = new AtomicLong();
    AtomicLong bytes = new AtomicLong();
    AtomicLong signed = new AtomicLong();
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    vertx.createHttpServer().requestHandler(request -> request.body().onComplete(body -> {
      if (body.succeeded()) {
        posts.incrementAndGet();
        bytes.addAndGet(body.result().length());
        if (request.getHeader("webhook-signature") != null) {
          signed.incrementAndGet();
        }
      }
      request.response().setStatusCode(204).end();
    })).listen(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get();
    Path out = Path.of(countFile);
    Path tmp = Path.of(countFile + ".tmp");
    vertx.setPeriodic(100, t -> {
      try {
        Files.writeString(tmp, "posts=" + posts.get() + " bytes=" + bytes.get() + " signed=" + signed.get() + "\n",
            StandardCharsets.US_ASCII);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        System.err.println("webhook: cannot write " + countFile + ": " + e.getMessage());
      }
    });
    System.out.println("webhook: listening on 127.0.0.1:" + port + ", counting into " + countFile);
    new CountDownLatch(1).await();
  }
}
