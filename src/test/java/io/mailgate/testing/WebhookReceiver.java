package io.mailgate.testing;

import com.sun.net.httpserver.HttpServer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A webhook endpoint for tests: records every post (path, headers, body) and answers 200, or 503 to the first few
 * posts of a path ({@link #failFirst}), late ({@link #delay}) or not until released ({@link #hang}).
 */
public final class WebhookReceiver implements AutoCloseable {
  public record Post(String path, Map<String, List<String>> headers, String body) {
    public JsonObject json() {
      return new JsonObject(body);
    }
  }

  private final HttpServer server;
  private final List<Post> posts = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
  private final Map<String, java.util.concurrent.CountDownLatch> hanging = new ConcurrentHashMap<>();
  private final Map<String, Long> delays = new ConcurrentHashMap<>();

  public WebhookReceiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      Map<String, List<String>> headers = new HashMap<>();
      exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
      String path = exchange.getRequestURI().getRawPath();
      posts.add(new Post(path, headers, body));
      // decided as the post arrives: the first n posts are the ones answered 503, even those answered only once
      // released, after posts that came later (decided once released, those raced the later posts for the 503s)
      AtomicInteger fail = failures.get(path);
      boolean failing = fail != null && fail.getAndDecrement() > 0;
      Long delay = delays.get(path);
      if (delay != null) {
        try {
          Thread.sleep(delay);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      java.util.concurrent.CountDownLatch hang = hanging.get(path);
      if (hang != null) {
        try {
          hang.await(60, java.util.concurrent.TimeUnit.SECONDS); // no answer meanwhile
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      exchange.sendResponseHeaders(failing ? 503 : 200, -1);
      exchange.close();
    });
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.start();
  }

  /** Posts to {@code path} are answered after {@code millis} (0: at once). */
  public void delay(String path, long millis) {
    if (millis == 0) {
      delays.remove(path);
    } else {
      delays.put(path, millis);
    }
  }

  /** Posts to {@code path} get no answer until {@link #release}. */
  public void hang(String path) {
    hanging.put(path, new java.util.concurrent.CountDownLatch(1));
  }

  public void release(String path) {
    java.util.concurrent.CountDownLatch latch = hanging.remove(path);
    if (latch != null) {
      latch.countDown();
    }
  }

  public String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  /** The next {@code n} posts to {@code path} to arrive are answered 503 (when released, if they hang). */
  public void failFirst(String path, int n) {
    failures.put(path, new AtomicInteger(n));
  }

  /** Every post so far. */
  public List<Post> all() {
    return List.copyOf(posts);
  }

  /** Every post to {@code path} so far. */
  public List<Post> posts(String path) {
    return posts.stream().filter(p -> p.path().equals(path)).toList();
  }

  public List<Post> posts(String path, String messageId) {
    return posts.stream().filter(p -> p.path().equals(path)
        && p.json().getJsonObject("mail").getString("messageId").equals(messageId)).toList();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
