package io.mailgate.ratelimit;

import io.mailgate.EventBusAddresses;
import io.mailgate.config.MailgateConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Enforces each account's MaxSendRate and Max24HourSend across all nodes with one Redis round
 * trip per send (the Lua script in {@code ratelimit/send_limits.lua}). When Redis cannot be
 * reached the check fails, and the send is refused with a retryable error: never accepted without
 * limits.
 */
public final class RateLimiterVerticle extends VerticleBase {
  static final String SCRIPT = loadScript();

  private final MailgateConfig config;
  private Redis client;
  private RedisAPI redis;
  private String sha;
  private String prefix;

  public RateLimiterVerticle(MailgateConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    prefix = config.get(MailgateConfig.REDIS_KEY_PREFIX);
    client = Redis.createClient(vertx, new RedisOptions()
        .setConnectionString(config.get(MailgateConfig.REDIS_URL))
        .setMaxPoolSize(4)
        .setMaxPoolWaiting(10_000)
        .setMaxWaitingHandlers(100_000));
    redis = RedisAPI.api(client);
    vertx.eventBus().<RateCheck>localConsumer(EventBusAddresses.RATE_CHECK, this::check);
    // load the script now when Redis is up; if it is not, the first check loads it
    return redis.script(List.of("LOAD", SCRIPT)).map(r -> sha = r.toString()).otherwiseEmpty();
  }

  @Override
  public Future<?> stop() {
    return client == null ? Future.succeededFuture() : client.close();
  }

  private void check(Message<RateCheck> msg) {
    RateCheck c = msg.body();
    String tag = "{" + c.accountId() + "}";
    List<String> args = List.of("2", prefix + tag + ":rate", prefix + tag + ":quota",
        Double.toString(c.maxSendRate()), Integer.toString(c.rateCost()), Long.toString(c.max24HourSend()),
        Integer.toString(c.quotaCost()));
    evaluate(args).onComplete(ar -> {
      if (ar.failed()) {
        msg.fail(503, "rate limiter unavailable: " + ar.cause().getMessage());
        return;
      }
      Response r = ar.result();
      int status = r.get(0).toInteger();
      long total = r.get(1).toLong();
      msg.reply(new RateDecision(status == 1 ? RateDecision.Status.ALLOWED
          : status == 0 ? RateDecision.Status.RATE_EXCEEDED : RateDecision.Status.QUOTA_EXCEEDED, total));
    });
  }

  private Future<Response> evaluate(List<String> args) {
    if (sha == null) {
      return evalScript(args);
    }
    return redis.evalsha(prepend(sha, args)).recover(e -> {
      // Redis restarted (scripts are not persisted): load it again
      if (e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT")) {
        return evalScript(args);
      }
      return Future.failedFuture(e);
    });
  }

  private Future<Response> evalScript(List<String> args) {
    return redis.script(List.of("LOAD", SCRIPT)).compose(r -> {
      sha = r.toString();
      return redis.evalsha(prepend(sha, args));
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

  private static String loadScript() {
    try (InputStream in = RateLimiterVerticle.class.getClassLoader().getResourceAsStream("ratelimit/send_limits.lua")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
