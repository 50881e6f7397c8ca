package io.mailgate.ratelimit;

import io.mailgate.EventBusAddresses;
import io.mailgate.config.MailgateConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Each destination site's maxMessagesPerSecond across all nodes, in Redis: delivery instances ask
 * for batches of tokens ({@code ratelimit/site_tokens.lua}). A site's throttle state (paused until,
 * rate factor), set when a node got a "slow down" reply ({@code ratelimit/site_throttle.lua}), is
 * shared the same way: the token script reads it in the same call. When Redis cannot be reached the
 * request fails and the delivery instance falls back to its own share of the limit and its node's
 * throttle state. (Account limits are checked by a {@link SendLimiter} on the sending verticle's own
 * event loop.)
 */
public final class RateLimiterVerticle extends VerticleBase {
  private final MailgateConfig config;
  private final RedisScript siteTokens = new RedisScript("ratelimit/site_tokens.lua");
  private final RedisScript siteThrottle = new RedisScript("ratelimit/site_throttle.lua");
  private Redis client;
  private RedisAPI redis;
  private String prefix;

  public RateLimiterVerticle(MailgateConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    prefix = config.get(MailgateConfig.REDIS_KEY_PREFIX);
    client = Redis.createClient(vertx, SendLimiter.redisOptions(config));
    redis = RedisAPI.api(client);
    vertx.eventBus().<SiteTokenRequest>localConsumer(EventBusAddresses.SITE_TOKENS, this::siteTokens);
    vertx.eventBus().<SiteThrottleRequest>localConsumer(EventBusAddresses.SITE_THROTTLE, this::siteThrottle);
    // load the scripts now when Redis is up; if it is not (or does not answer), the first use loads them
    return Future.join(siteTokens.load(redis), siteThrottle.load(redis))
        .timeout(SendLimiter.BATCH_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
        .otherwiseEmpty();
  }

  @Override
  public Future<?> stop() {
    return client == null ? Future.succeededFuture() : client.close();
  }

  private void siteTokens(Message<SiteTokenRequest> msg) {
    SiteTokenRequest r = msg.body();
    List<String> args = List.of("2", bucketKey(r.site()), throttleKey(r.site()), Double.toString(r.perSecond()),
        Integer.toString(r.burst()), Integer.toString(r.want()), Long.toString(r.creditMillis()),
        Double.toString(r.recoveryPerSecond()));
    siteTokens.evaluate(redis, args).onComplete(ar -> {
      if (ar.failed()) {
        msg.fail(503, "site limiter unavailable: " + ar.cause().getMessage());
      } else {
        msg.reply(new SiteTokens(ar.result().get(0).toInteger(), ar.result().get(1).toLong(),
            Double.parseDouble(ar.result().get(2).toString()), ar.result().get(3).toLong()));
      }
    });
  }

  private void siteThrottle(Message<SiteThrottleRequest> msg) {
    SiteThrottleRequest r = msg.body();
    List<String> args = List.of("1", throttleKey(r.site()), Double.toString(r.factor()),
        Long.toString(r.pauseMillis()), Double.toString(r.leastFactor()), Double.toString(r.recoveryPerSecond()));
    siteThrottle.evaluate(redis, args).onComplete(ar -> {
      if (ar.failed()) {
        msg.fail(503, "site throttle state unavailable: " + ar.cause().getMessage());
      } else {
        msg.reply(new SiteThrottleState(Double.parseDouble(ar.result().get(0).toString()),
            ar.result().get(1).toLong()));
      }
    });
  }

  /** The site's token bucket; its throttle state has the same hash tag (one slot: both keys in one script). */
  private String bucketKey(String site) {
    return prefix + "site:{" + site + "}";
  }

  private String throttleKey(String site) {
    return prefix + "site:{" + site + "}:throttle";
  }
}
