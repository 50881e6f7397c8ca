package io.mailgate.ratelimit;

import io.vertx.core.Future;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** A Lua script run with EVALSHA; loaded on first use, and again when Redis has lost it (a restart). */
final class RedisScript {
  final String name;
  private final String source;
  private volatile String sha;

  RedisScript(String resource) {
    this.name = resource;
    this.source = load(resource);
  }

  Future<String> load(RedisAPI redis) {
    return redis.script(List.of("LOAD", source)).map(r -> sha = r.toString());
  }

  /** EVALSHA with {@code args} (the key count, keys and arguments). */
  Future<Response> evaluate(RedisAPI redis, List<String> args) {
    String known = sha;
    if (known == null) {
      return load(redis).compose(s -> redis.evalsha(prepend(s, args)));
    }
    return redis.evalsha(prepend(known, args)).recover(e -> {
      if (e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT")) {
        return load(redis).compose(s -> redis.evalsha(prepend(s, args)));
      }
      return Future.failedFuture(e);
    });
  }

  private static List<String> prepend(String first, List<String> rest) {
    String[] all = new String[rest.size() + 1];
    all[0] = first;
    for (int i = 0; i < rest.size(); i++) {
      all[i + 1] = rest.get(i);
    }
    return List.of(all);
  }

  private static String load(String resource) {
    try (InputStream in = RedisScript.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing classpath resource " + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
