package io.mailgate.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.Await;
import io.mailgate.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Concurrent checks of one account are decided in batches, each send as if alone, against the real Redis. */
class RateLimiterBatchTest {
  /** An account that sent nothing yet, as PostgreSQL would say. */
  static final QuotaHistory NOTHING_SENT = counting -> Future.succeededFuture(Map.of());

  static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  static long evalshaCalls(Redis redis) throws Exception {
    String info = await(redis.send(Request.cmd(Command.INFO).arg("commandstats"))).toString();
    Matcher m = Pattern.compile("cmdstat_evalsha:calls=(\\d+)").matcher(info);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  @Test
  void concurrentChecksShareScriptCallsAndTheQuotaIsExact() throws Exception {
    Vertx vertx = Vertx.vertx();
    Redis redis = Redis.createClient(vertx, TestServices.redisUrl());
    try {
      MailgateConfig config = MailgateConfig.defaults()
          .with(MailgateConfig.REDIS_URL, TestServices.redisUrl())
          .with(MailgateConfig.REDIS_KEY_PREFIX, TestServices.uniquePrefix());
      SendLimiter limiter = new SendLimiter(vertx, config, NOTHING_SENT);
      await(limiter.start());
      long callsBefore = evalshaCalls(redis);

      // 300 sends of one recipient at once; the rate allows them all, the daily quota 120
      int n = 300;
      List<Future<RateDecision>> replies = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        replies.add(limiter.check(new RateCheck("acct-1", 10_000, 1, 120, 1)));
      }
      await(Future.all(replies));
      long calls = evalshaCalls(redis) - callsBefore;

      int allowed = 0;
      long highest = 0;
      for (Future<RateDecision> r : replies) {
        RateDecision d = r.result();
        if (d.status() == RateDecision.Status.ALLOWED) {
          allowed++;
        } else {
          assertEquals(RateDecision.Status.QUOTA_EXCEEDED, d.status());
        }
        highest = Math.max(highest, d.sentLast24Hours());
      }
      assertEquals(120, allowed, "exactly the daily quota, however the checks were grouped");
      assertEquals(120, highest);
      assertTrue(calls < n / 2, n + " checks took " + calls + " script calls");

      // alone, a check is decided at once, in its own call; a peek costs nothing
      RateDecision peek = await(limiter.check(new RateCheck("acct-1", 10_000, 0, 120, 0)));
      assertEquals(RateDecision.Status.ALLOWED, peek.status());
      assertEquals(120, peek.sentLast24Hours());

      // the rate: a bucket of 3 per second, 10 sends at once of another account
      List<Future<RateDecision>> burst = new ArrayList<>();
      long start = System.nanoTime();
      for (int i = 0; i < 10; i++) {
        burst.add(limiter.check(new RateCheck("acct-2", 3, 1, -1, 1)));
      }
      await(Future.all(burst));
      double seconds = (System.nanoTime() - start) / 1e9;
      long ok = burst.stream().filter(f -> f.result().status() == RateDecision.Status.ALLOWED).count();
      // a full bucket of 3, and what refilled while the checks ran, however slowly (all 10 only after 2.3 s)
      assertTrue(ok >= 3 && ok <= Math.floor(3 + 3 * seconds), ok + " allowed in " + seconds + " s");

      // a rate of 0 sends nothing (it let one message through after each quiet minute)
      for (int i = 0; i < 3; i++) {
        assertEquals(RateDecision.Status.RATE_EXCEEDED, await(limiter.check(new RateCheck("acct-3", 0, 1, -1, 1))).status());
      }
      assertEquals(RateDecision.Status.ALLOWED, await(limiter.check(new RateCheck("acct-3", 0, 0, -1, 0))).status(),
          "a peek is not a send");
    } finally {
      redis.close();
      vertx.close();
    }
  }

  @Test
  void countsRedisLostAreCountedAgainFromTheDatabase() throws Exception {
    Vertx vertx = Vertx.vertx();
    Redis redis = Redis.createClient(vertx, TestServices.redisUrl());
    try {
      String prefix = TestServices.uniquePrefix();
      MailgateConfig config = MailgateConfig.defaults()
          .with(MailgateConfig.REDIS_URL, TestServices.redisUrl())
          .with(MailgateConfig.REDIS_KEY_PREFIX, prefix);
      long bucket = System.currentTimeMillis() / 1000 / 300;
      AtomicInteger asked = new AtomicInteger();
      // 100 sent five minutes ago; 5 stamped ahead of Redis's clock (a node's clock ahead of it), which count now;
      // 50 two days ago, which no longer count
      // the count is done in parts and each part holds the lock longer: one that takes longer than the lock (a day of
      // a busy node's messages) is not taken over by another node, which would count again from the start
      long[] lockLeft = new long[2];
      QuotaHistory history = counting -> {
        asked.incrementAndGet();
        Map<String, Map<Long, Long>> sent = Map.of("acct-5", Map.of(bucket - 1, 100L, bucket + 2, 5L, bucket - 600, 50L));
        Promise<Map<String, Map<Long, Long>>> counted = Promise.promise();
        vertx.setTimer(1_500, t -> redis.send(Request.cmd(Command.PTTL).arg(prefix + "quota-counts:restoring"))
            .onSuccess(before -> lockLeft[0] = before.toLong())
            .compose(v -> counting.get())
            .compose(v -> redis.send(Request.cmd(Command.PTTL).arg(prefix + "quota-counts:restoring")))
            .onSuccess(after -> lockLeft[1] = after.toLong())
            .<Map<String, Map<Long, Long>>>map(v -> sent)
            .onComplete(counted));
        return counted.future();
      };
      SendLimiter limiter = new SendLimiter(vertx, config, history);
      await(limiter.start()); // this Redis holds no counts: counted before the first send
      assertEquals(1, asked.get());
      assertTrue(lockLeft[0] <= SendLimiter.RESTORE_LOCK_MILLIS - 1_500, Arrays.toString(lockLeft));
      assertTrue(lockLeft[1] > SendLimiter.RESTORE_LOCK_MILLIS - 1_000, Arrays.toString(lockLeft));
      List<Future<RateDecision>> checks = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        checks.add(limiter.check(new RateCheck("acct-5", 10_000, 1, 120, 1)));
      }
      await(Future.all(checks));
      assertEquals(106, checks.get(0).result().sentLast24Hours());
      assertEquals(15, checks.stream().filter(f -> f.result().status() == RateDecision.Status.ALLOWED).count());
      assertEquals(RateDecision.Status.QUOTA_EXCEEDED, checks.get(29).result().status());
      // an account the database has nothing of starts from zero, without asking it
      assertEquals(1, await(limiter.check(new RateCheck("acct-7", 10_000, 1, 10, 1))).sentLast24Hours());
      assertEquals(1, asked.get());

      // Redis loses everything (a restart without persistence): refused retryably until counted again, not a fresh
      // quota; an unlimited account is decided meanwhile (it needs no count)
      await(redis.send(Request.cmd(Command.DEL).arg(prefix + "quota-counts").arg(prefix + "{acct-5}:quota")));
      Throwable lost = await(limiter.check(new RateCheck("acct-5", 10_000, 1, 120, 1))
          .transform(ar -> Future.succeededFuture(ar.cause())));
      assertTrue(lost != null && lost.getMessage().contains("being counted again"), String.valueOf(lost));
      assertEquals(RateDecision.Status.ALLOWED,
          await(limiter.check(new RateCheck("acct-8", 10_000, 1, -1, 1))).status());
      RateDecision[] after = new RateDecision[1];
      Await.until(() -> {
        try {
          after[0] = await(limiter.check(new RateCheck("acct-5", 10_000, 1, 120, 1)));
          return true;
        } catch (Exception e) {
          return false;
        }
      }, Duration.ofSeconds(10));
      assertEquals(RateDecision.Status.ALLOWED, after[0].status());
      assertEquals(106, after[0].sentLast24Hours());
      assertEquals(2, asked.get());

      // a database that cannot answer: limited accounts stay refused, retryably, rather than allowed without a count
      await(redis.send(Request.cmd(Command.DEL).arg(prefix + "quota-counts").arg(prefix + "{acct-6}:quota")));
      SendLimiter failing = new SendLimiter(vertx, config, counting -> Future.failedFuture("connection refused"));
      await(failing.start());
      Throwable refused = await(failing.check(new RateCheck("acct-6", 10_000, 1, 120, 1))
          .transform(ar -> Future.succeededFuture(ar.cause())));
      assertTrue(refused != null && refused.getMessage().contains("being counted again"), String.valueOf(refused));
    } finally {
      redis.close();
      vertx.close();
    }
  }

  /**
   * A count whose lock ran out while it counted (a statement that waited past it), and was taken by another node, stops
   * at its next part, and leaves that node's lock alone, neither held on to nor deleted: the counts are that node's.
   */
  @Test
  void aCountWhoseLockRanOutStopsAndLeavesTheOtherNodesLockAlone() throws Exception {
    Vertx vertx = Vertx.vertx();
    Redis redis = Redis.createClient(vertx, TestServices.redisUrl());
    try {
      String prefix = TestServices.uniquePrefix();
      MailgateConfig config = MailgateConfig.defaults()
          .with(MailgateConfig.REDIS_URL, TestServices.redisUrl())
          .with(MailgateConfig.REDIS_KEY_PREFIX, prefix);
      String lock = prefix + "quota-counts:restoring";
      Throwable[] told = new Throwable[1];
      QuotaHistory history = counting -> redis.send(Request.cmd(Command.SET).arg(lock).arg("another node"))
          .compose(v -> counting.get())
          .transform(ar -> {
            told[0] = ar.cause();
            return ar.failed() ? Future.failedFuture(ar.cause()) : Future.succeededFuture(Map.of());
          });
      await(new SendLimiter(vertx, config, history).start());
      assertTrue(told[0] != null && told[0].getMessage().contains("another node counts"), String.valueOf(told[0]));
      assertEquals("another node", String.valueOf(await(redis.send(Request.cmd(Command.GET).arg(lock)))));
      assertTrue(await(redis.send(Request.cmd(Command.PTTL).arg(lock))).toLong() == -1, "not held on to");
      assertEquals(0, await(redis.send(Request.cmd(Command.EXISTS).arg(prefix + "quota-counts"))).toInteger());
    } finally {
      redis.close();
      vertx.close();
    }
  }

  @Test
  void aRedisThatNeverAnswersDoesNotHoldTheAccountForGood() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      // accepts connections, reads everything, answers nothing
      io.vertx.core.net.NetServer silent = await(vertx.createNetServer().connectHandler(so -> so.handler(b -> { }))
          .listen(0, "127.0.0.1"));
      MailgateConfig config = MailgateConfig.defaults()
          .with(MailgateConfig.REDIS_URL, "redis://127.0.0.1:" + silent.actualPort())
          .with(MailgateConfig.REDIS_KEY_PREFIX, TestServices.uniquePrefix());
      SendLimiter limiter = new SendLimiter(vertx, config, NOTHING_SENT, 300);
      await(limiter.start());
      long start = System.nanoTime();
      // the second check queues behind the first, which never gets an answer
      List<Future<RateDecision>> checks = List.of(
          limiter.check(new RateCheck("acct-3", 10, 1, -1, 1)),
          limiter.check(new RateCheck("acct-3", 10, 1, -1, 1)));
      Throwable first = await(checks.get(0).transform(ar -> Future.succeededFuture(ar.cause())));
      Throwable second = await(checks.get(1).transform(ar -> Future.succeededFuture(ar.cause())));
      long ms = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(first != null && first.getMessage().contains("no answer from Redis in 300 ms"), String.valueOf(first));
      assertTrue(second != null && second.getMessage().contains("no answer from Redis in 300 ms"), String.valueOf(second));
      assertTrue(ms < 10_000, "refused after the batch timeouts: " + ms + " ms");

      // 2,000 checks queued behind one that hangs are refused with it, not 256 per timeout (8 timeouts in a row)
      List<Future<RateDecision>> many = new java.util.ArrayList<>();
      for (int i = 0; i < 2_000; i++) {
        many.add(limiter.check(new RateCheck("acct-4", 10, 1, -1, 1)));
      }
      long t0 = System.nanoTime();
      await(Future.join(many).otherwiseEmpty());
      long waited = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertTrue(many.stream().allMatch(Future::failed));
      assertTrue(waited < 4 * 300, "one timeout, not eight: " + waited + " ms");
    } finally {
      vertx.close();
    }
  }

  /**
   * While the counts Redis lost are counted again, the limiter says it does not hold them (a readiness check's answer),
   * and asking has them counted, as a send would: a node a load balancer took out gets no send that would.
   */
  @Test
  void holdsCountsIsFalseWhileTheyAreCountedAgainAndAskingCountsThem() throws Exception {
    Vertx vertx = Vertx.vertx();
    Redis redis = Redis.createClient(vertx, TestServices.redisUrl());
    try {
      String prefix = TestServices.uniquePrefix();
      MailgateConfig config = MailgateConfig.defaults()
          .with(MailgateConfig.REDIS_URL, TestServices.redisUrl())
          .with(MailgateConfig.REDIS_KEY_PREFIX, prefix);
      AtomicInteger asked = new AtomicInteger();
      java.util.concurrent.ConcurrentLinkedQueue<Promise<Map<String, Map<Long, Long>>>> counts =
          new java.util.concurrent.ConcurrentLinkedQueue<>();
      QuotaHistory history = counting -> {
        asked.incrementAndGet();
        Promise<Map<String, Map<Long, Long>>> p = Promise.promise();
        counts.add(p);
        return p.future();
      };
      SendLimiter limiter = new SendLimiter(vertx, config, history);
      Future<Void> started = limiter.start();
      Await.until(() -> counts.size() == 1, Duration.ofSeconds(10));
      assertEquals(false, await(limiter.holdsCounts(2_000)), "counted at start: not held yet");
      counts.poll().complete(Map.of("acct-9", Map.of(System.currentTimeMillis() / 1000 / 300, 3L)));
      await(started);
      assertEquals(true, await(limiter.holdsCounts(2_000)));
      assertEquals(1, asked.get());

      await(redis.send(Request.cmd(Command.DEL).arg(prefix + "quota-counts").arg(prefix + "{acct-9}:quota")));
      assertEquals(false, await(limiter.holdsCounts(2_000)));
      Await.until(() -> asked.get() == 2, Duration.ofSeconds(10)); // no send asked: the check started the count
      assertEquals(false, await(limiter.holdsCounts(2_000)), "still counting");
      assertEquals(2, asked.get(), "one count at a time");
      counts.poll().complete(Map.of("acct-9", Map.of(System.currentTimeMillis() / 1000 / 300, 3L)));
      Await.until(() -> {
        try {
          return await(limiter.holdsCounts(2_000));
        } catch (Exception e) {
          return false;
        }
      }, Duration.ofSeconds(10));
      assertEquals(4, await(limiter.check(new RateCheck("acct-9", 10_000, 1, 120, 1))).sentLast24Hours());
    } finally {
      redis.close();
      vertx.close();
    }
  }

  /**
   * A request refused for want of the limits is logged once per outage (a Redis restart under 300 sends a second
   * logged a line for each, 6,412 in 16 s), and the end of the outage once, with how many were refused.
   */
  @Test
  void refusalsAreLoggedOncePerOutageNotPerRequest() throws Exception {
    Vertx vertx = Vertx.vertx();
    java.net.URI url = java.net.URI.create(TestServices.redisUrl());
    try (io.mailgate.testing.LogCapture log = io.mailgate.testing.LogCapture.of(SendLimiter.class);
         io.mailgate.testing.TcpProxy proxy = new io.mailgate.testing.TcpProxy(url.getPort())) {
      List<java.util.logging.LogRecord> logged = log.records();
      MailgateConfig config = MailgateConfig.defaults()
          .with(MailgateConfig.REDIS_URL, "redis://127.0.0.1:" + proxy.port())
          .with(MailgateConfig.REDIS_KEY_PREFIX, TestServices.uniquePrefix());
      SendLimiter limiter = new SendLimiter(vertx, config, NOTHING_SENT, 1_000);
      await(limiter.start());
      logged.clear(); // the start's count of an empty day
      await(limiter.admit(new RateCheck("acct-1", 10_000, 1, -1, 1), "rate", "quota", "down"));
      assertEquals(List.of(), logged.stream().map(java.util.logging.LogRecord::getMessage).toList(), "no outage");
      for (int outage = 1; outage <= 2; outage++) {
        proxy.cut(); // Redis gone
        for (int i = 0; i < 3; i++) { // batch after batch, each refused
          List<Future<Void>> refused = new ArrayList<>();
          for (int j = 0; j < 50; j++) {
            refused.add(limiter.admit(new RateCheck("acct-" + j, 10_000, 1, -1, 1), "rate", "quota", "down"));
          }
          await(Future.join(refused).otherwiseEmpty());
          assertTrue(refused.stream().allMatch(Future::failed));
        }
        proxy.restore();
        Await.until(() -> {
          try {
            await(limiter.admit(new RateCheck("acct-1", 10_000, 1, -1, 1), "rate", "quota", "down"));
            return true;
          } catch (Exception e) {
            return false;
          }
        }, Duration.ofSeconds(20));
        List<String> said = logged.stream().map(java.util.logging.LogRecord::getMessage).toList();
        // each outage: its first refusal, then its end with how many were refused
        assertEquals(2 * outage, said.size(), "150 refusals or more: " + said.size() + " lines, the first "
            + said.subList(0, Math.min(3, said.size())));
        assertTrue(said.get(2 * outage - 2).startsWith("sending limits unavailable"), said.toString());
        assertTrue(said.get(2 * outage - 1).startsWith("sending limits available again"), said.toString());
        assertEquals(java.util.logging.Level.WARNING, logged.get(2 * outage - 2).getLevel());
      }
    } finally {
      vertx.close();
    }
  }

  /** The answer a request gets: its SES error and the caller's own words for each refusal. */
  @Test
  void admitAnswersWithTheCallersErrors() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      MailgateConfig config = MailgateConfig.defaults()
          .with(MailgateConfig.REDIS_URL, TestServices.redisUrl())
          .with(MailgateConfig.REDIS_KEY_PREFIX, TestServices.uniquePrefix());
      SendLimiter limiter = new SendLimiter(vertx, config, NOTHING_SENT);
      await(limiter.start());
      // one send per 100 s: the second is over the rate however slow the machine
      await(limiter.admit(new RateCheck("acct-5", 0.01, 1, -1, 0), "rate", "quota", "down"));
      assertRefused(limiter.admit(new RateCheck("acct-5", 0.01, 1, -1, 0), "rate", "quota", "down"),
          io.mailgate.SesError.TOO_MANY_REQUESTS, "rate");
      await(limiter.admit(new RateCheck("acct-6", 10_000, 1, 1, 1), "rate", "quota", "down"));
      assertRefused(limiter.admit(new RateCheck("acct-6", 10_000, 1, 1, 1), "rate", "quota", "down"),
          io.mailgate.SesError.TOO_MANY_REQUESTS, "quota");

      // a Redis that answers nothing: refused as unavailable, retryable
      io.vertx.core.net.NetServer silent = await(vertx.createNetServer().connectHandler(so -> so.handler(b -> { }))
          .listen(0, "127.0.0.1"));
      SendLimiter cut = new SendLimiter(vertx, config.with(MailgateConfig.REDIS_URL,
          "redis://127.0.0.1:" + silent.actualPort()), NOTHING_SENT, 300);
      await(cut.start());
      assertRefused(cut.admit(new RateCheck("acct-7", 10, 1, -1, 1), "rate", "quota", "down"),
          io.mailgate.SesError.SERVICE_UNAVAILABLE, "down");
    } finally {
      vertx.close();
    }
  }

  private static void assertRefused(Future<Void> answer, io.mailgate.SesError error, String message) throws Exception {
    Throwable cause = await(answer.transform(ar -> Future.succeededFuture(ar.cause())));
    assertTrue(cause instanceof io.mailgate.SesException, String.valueOf(cause));
    assertEquals(error, ((io.mailgate.SesException) cause).error());
    assertEquals(message, cause.getMessage());
  }
}
