package io.mailgate.ratelimit;

import static io.mailgate.ratelimit.RateLimiterBatchTest.NOTHING_SENT;
import static io.mailgate.ratelimit.RateLimiterBatchTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** What the limiter counted is given back when the send it was counted for did not happen, and counts expire. */
class SendLimiterRefundTest {
  private static long bucketNow() {
    return System.currentTimeMillis() / 1000 / 300;
  }

  private static String get(Redis redis, String key, String field) throws Exception {
    Response r = await(redis.send(Request.cmd(Command.HGET).arg(key).arg(field)));
    return r == null ? null : r.toString();
  }

  /**
   * A check whose answer comes after its timeout was answered 503 (the client will try again), but Redis counted it:
   * the count is given back when the answer comes, so the retry does not spend the quota twice.
   */
  @Test
  void aCheckAnsweredAfterItsTimeoutIsGivenBack() throws Exception {
    Vertx vertx = Vertx.vertx();
    Redis redis = Redis.createClient(vertx, TestServices.redisUrl());
    try {
      URI target = URI.create(TestServices.redisUrl());
      // a proxy to the real Redis that holds Redis's answers while `hold` is set (a Redis stalled by a fork or an
      // fsync: the command runs, its answer is late)
      AtomicBoolean hold = new AtomicBoolean();
      List<Runnable> held = new ArrayList<>();
      NetServer proxy = await(vertx.createNetServer().connectHandler(client -> {
        client.pause();
        vertx.createNetClient().connect(target.getPort(), target.getHost()).onSuccess(server -> {
          server.handler(b -> relay(vertx, hold, held, client, b));
          client.handler(server::write);
          client.closeHandler(v -> server.close());
          server.closeHandler(v -> client.close());
          client.resume();
        }).onFailure(e -> client.close());
      }).listen(0, "127.0.0.1"));
      String prefix = TestServices.uniquePrefix();
      MailgateConfig config = MailgateConfig.defaults()
          .with(MailgateConfig.REDIS_URL, "redis://127.0.0.1:" + proxy.actualPort())
          .with(MailgateConfig.REDIS_KEY_PREFIX, prefix);
      SendLimiter limiter = new SendLimiter(vertx, config, NOTHING_SENT, 300);
      await(limiter.start());
      await(limiter.check(new RateCheck("acct-1", 100, 1, 100, 1)));

      hold.set(true);
      Throwable refused = await(limiter.check(new RateCheck("acct-1", 100, 3, 100, 3))
          .transform(ar -> Future.succeededFuture(ar.cause())));
      assertTrue(refused != null && refused.getMessage().contains("no answer from Redis in 300 ms"),
          String.valueOf(refused));
      String quota = prefix + "{acct-1}:quota";
      assertEquals("4", get(redis, quota, "total"), "Redis counted the send it could not answer in time");

      vertx.runOnContext(v -> {
        hold.set(false);
        held.forEach(Runnable::run);
        held.clear();
      });
      Await.until(() -> {
        try {
          return "1".equals(get(redis, quota, "total"));
        } catch (Exception e) {
          return false;
        }
      }, Duration.ofSeconds(10));
      RateDecision peek = await(limiter.check(new RateCheck("acct-1", 100, 0, 100, 0)));
      assertEquals(1, peek.sentLast24Hours());
    } finally {
      redis.close();
      vertx.close();
    }
  }

  private static void relay(Vertx vertx, AtomicBoolean hold, List<Runnable> held, NetSocket client, Buffer b) {
    if (hold.get()) {
      held.add(() -> client.write(b));
    } else {
      client.write(b);
    }
  }

  /** A limiter on the tests' Redis under {@code prefix}, its script loaded. */
  private static SendLimiter started(Vertx vertx, String prefix) throws Exception {
    SendLimiter limiter = new SendLimiter(vertx, MailgateConfig.defaults()
        .with(MailgateConfig.REDIS_URL, TestServices.redisUrl())
        .with(MailgateConfig.REDIS_KEY_PREFIX, prefix), NOTHING_SENT);
    await(limiter.start());
    return limiter;
  }

  /**
   * Redis's clock stepping back (a failover to a replica whose clock is behind) refills nothing, and freezes nothing
   * either: the buckets refill from the new clock at once, not once it has caught up with the last time they saw.
   */
  @Test
  void aClockThatSteppedBackFreezesNoBucket() throws Exception {
    Vertx vertx = Vertx.vertx();
    Redis redis = Redis.createClient(vertx, TestServices.redisUrl());
    try {
      String prefix = TestServices.uniquePrefix();
      SendLimiter limiter = started(vertx, prefix);
      // an empty bucket last seen 30 s "later" than Redis's clock now says (microseconds)
      long ahead = (System.currentTimeMillis() + 30_000) * 1000;
      await(redis.send(Request.cmd(Command.HSET).arg(prefix + "{acct-4}:rate").arg("tokens").arg("0")
          .arg("ts").arg(Long.toString(ahead))));
      assertEquals(RateDecision.Status.RATE_EXCEEDED,
          await(limiter.check(new RateCheck("acct-4", 10, 1, 1000, 1))).status(), "refilled from a clock behind");
      Thread.sleep(400); // 10 a second: 4 tokens
      assertEquals(RateDecision.Status.ALLOWED, await(limiter.check(new RateCheck("acct-4", 10, 1, 1000, 1))).status(),
          "the bucket waits for the clock to pass its old time");

      RedisScript site = new RedisScript("ratelimit/site_tokens.lua");
      io.vertx.redis.client.RedisAPI api = io.vertx.redis.client.RedisAPI.api(redis);
      String key = prefix + "site:{x}";
      await(redis.send(Request.cmd(Command.HSET).arg(key).arg("tokens").arg("0")
          .arg("ts").arg(Long.toString(System.currentTimeMillis() + 30_000))));
      // (the site's throttle state, its second key, not set: not throttled)
      List<String> args = List.of("2", key, key + ":throttle", "10", "10", "1", "0", "0.02");
      Response first = await(site.evaluate(api, args));
      assertEquals(0, first.get(0).toInteger());
      Thread.sleep(400);
      Response later = await(site.evaluate(api, args));
      assertEquals(1, later.get(0).toInteger(), "a site's bucket waits for the clock to pass its old time");
    } finally {
      redis.close();
      vertx.close();
    }
  }

  /** A send whose commit waited long (a stalled database) is given back from the bucket it was counted in. */
  @Test
  void aRefundFindsAnOlderBucket() throws Exception {
    Vertx vertx = Vertx.vertx();
    Redis redis = Redis.createClient(vertx, TestServices.redisUrl());
    try {
      String prefix = TestServices.uniquePrefix();
      SendLimiter limiter = started(vertx, prefix);
      long bucket = bucketNow();
      String quota = prefix + "{acct-2}:quota";
      // counted twenty minutes ago (4 buckets back), and one send of the bucket before it
      await(redis.send(Request.cmd(Command.HSET).arg(quota).arg("total").arg("6").arg("oldest").arg(bucket - 288)
          .arg(bucket - 4).arg("5").arg(bucket - 5).arg("1")));
      await(limiter.refund(new RateCheck("acct-2", 100, 2, 100, 2)));
      assertEquals("4", get(redis, quota, "total"));
      assertEquals("3", get(redis, quota, String.valueOf(bucket - 4)));
      // more than was counted in the newer buckets goes out of the older ones, never below zero
      await(limiter.refund(new RateCheck("acct-2", 100, 10, 100, 10)));
      assertEquals("0", get(redis, quota, "total"));
      assertEquals("0", get(redis, quota, String.valueOf(bucket - 5)));
    } finally {
      redis.close();
      vertx.close();
    }
  }

  /** An account's counts that all fell out of the day are removed, not written again without an expiry. */
  @Test
  void countsOfAnIdleAccountDoNotStayForGood() throws Exception {
    Vertx vertx = Vertx.vertx();
    Redis redis = Redis.createClient(vertx, TestServices.redisUrl());
    try {
      String prefix = TestServices.uniquePrefix();
      SendLimiter limiter = started(vertx, prefix);
      long bucket = bucketNow();
      String quota = prefix + "{acct-3}:quota";
      String other = prefix + "{acct-4}:quota";
      // one send a day and a half ago; another account's a day and a minute ago and one an hour ago
      await(redis.send(Request.cmd(Command.HSET).arg(quota).arg("total").arg("1").arg("oldest").arg(bucket - 432)
          .arg(bucket - 432).arg("1")));
      await(redis.send(Request.cmd(Command.HSET).arg(other).arg("total").arg("3").arg("oldest").arg(bucket - 290)
          .arg(bucket - 290).arg("1").arg(bucket - 12).arg("2")));
      // a look (no cost) and a refused send (over its quota of 0): neither counts anything
      assertEquals(0, await(limiter.check(new RateCheck("acct-3", 100, 0, 100, 0))).sentLast24Hours());
      assertEquals(RateDecision.Status.QUOTA_EXCEEDED,
          await(limiter.check(new RateCheck("acct-3", 100, 1, 0, 1))).status());
      long ttl = await(redis.send(Request.cmd(Command.TTL).arg(quota))).toLong();
      assertEquals(-2, ttl, "nothing of the last day left: no key at all");
      assertEquals(2, await(limiter.check(new RateCheck("acct-4", 100, 0, 100, 0))).sentLast24Hours());
      long otherTtl = await(redis.send(Request.cmd(Command.TTL).arg(other))).toLong();
      assertTrue(otherTtl > 0, "counts still within the day expire with it: " + otherTtl);
    } finally {
      redis.close();
      vertx.close();
    }
  }
}
