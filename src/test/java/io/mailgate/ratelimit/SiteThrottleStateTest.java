package io.mailgate.ratelimit;

import static io.mailgate.ratelimit.RateLimiterBatchTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailgate.EventBusAddresses;
import io.mailgate.LocalCodec;
import io.mailgate.config.MailgateConfig;
import io.mailgate.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A site's throttle state in Redis, shared by all nodes: a throttle from any node pauses the site and lowers its factor
 * for every node's tokens, which fill at the configured rate times that factor whatever rate the caller asks at.
 */
class SiteThrottleStateTest {
  static final double LEAST = 0.1;
  static final double RECOVERY = 0.02;

  private Vertx vertx;
  private Redis redis;
  private String prefix;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    LocalCodec.register(vertx, SiteTokenRequest.class, SiteTokens.class, SiteThrottleRequest.class,
        SiteThrottleState.class);
    prefix = TestServices.uniquePrefix();
    MailgateConfig config = MailgateConfig.defaults()
        .with(MailgateConfig.REDIS_URL, TestServices.redisUrl())
        .with(MailgateConfig.REDIS_KEY_PREFIX, prefix);
    await(vertx.deployVerticle(new RateLimiterVerticle(config)));
    redis = Redis.createClient(vertx, TestServices.redisUrl());
  }

  @AfterEach
  void stop() throws Exception {
    await(vertx.close());
  }

  private SiteThrottleState throttle(String site, long pauseMillis, double factor) throws Exception {
    return await(vertx.eventBus().<SiteThrottleState>request(EventBusAddresses.SITE_THROTTLE,
        new SiteThrottleRequest(site, pauseMillis, factor, LEAST, RECOVERY))).body();
  }

  private SiteTokens tokens(String site, double perSecond, int want, long creditMillis) throws Exception {
    return await(vertx.eventBus().<SiteTokens>request(EventBusAddresses.SITE_TOKENS,
        new SiteTokenRequest(site, perSecond, (int) Math.ceil(perSecond), want, creditMillis, RECOVERY))).body();
  }

  @Test
  void aPausedSiteGivesNoTokensToAnyone() throws Exception {
    long before = System.currentTimeMillis();
    SiteThrottleState s = throttle("paused.test", 60_000, 0.5);
    assertEquals(0.5, s.factor(), 1e-9);
    assertTrue(s.pausedUntil() >= before + 59_000 && s.pausedUntil() <= before + 61_000, "paused until " + s.pausedUntil());
    SiteTokens t = tokens("paused.test", 10, 5, 0);
    assertEquals(0, t.granted(), "tokens for a site paused by another node's throttle");
    assertEquals(s.pausedUntil(), t.pausedUntil());
    assertTrue(t.waitMillis() > 55_000, "no token before the pause is over: " + t.waitMillis());
    assertEquals(0.5, t.factor(), 1e-9);
    // another site is not paused
    assertEquals(5, tokens("other.test", 10, 5, 0).granted());
  }

  @Test
  void theBucketFillsAtTheConfiguredRateTimesTheSharedFactor() throws Exception {
    throttle("halved.test", 0, 0.5);
    // asked at the configured 10 a second: a halved burst, then a token every 200 ms, not every 100
    SiteTokens t = tokens("halved.test", 10, 10, 0);
    assertEquals(5, t.granted(), "a halved site's burst");
    assertEquals(0, t.pausedUntil());
    SiteTokens next = tokens("halved.test", 10, 1, 0);
    assertEquals(0, next.granted());
    assertTrue(next.waitMillis() > 150, "the next token of a halved 10/s site in " + next.waitMillis() + " ms");
    // the control: a site not throttled
    assertEquals(10, tokens("full.test", 10, 10, 0).granted());
    SiteTokens full = tokens("full.test", 10, 1, 0);
    assertTrue(full.waitMillis() <= 100, "the next token of a 10/s site in " + full.waitMillis() + " ms");
  }

  @Test
  void throttlesCompoundAndTheLongestPauseWins() throws Exception {
    SiteThrottleState first = throttle("twice.test", 60_000, 0.5);
    SiteThrottleState second = throttle("twice.test", 1_000, 0.5);
    assertEquals(0.25, second.factor(), 1e-9, "a second node's throttle lowers the shared factor further");
    assertEquals(first.pausedUntil(), second.pausedUntil(), "a shorter pause does not cut the longer one short");
    for (int i = 0; i < 5; i++) {
      second = throttle("twice.test", 0, 0.5);
    }
    assertEquals(LEAST, second.factor(), 1e-9);
    // kept while paused, and then for as long as successes all the time would take to recover: (1 - 0.1) / 0.02 = 45 s
    long ttl = await(redis.send(Request.cmd(Command.PTTL).arg(prefix + "site:{twice.test}:throttle"))).toLong();
    assertTrue(ttl > 100_000 && ttl <= 105_000, "the shared state expires in " + ttl + " ms");
  }

  @Test
  void successesRecoverTheFactorNoFasterThanTimePasses() throws Exception {
    throttle("recovering.test", 0, 0.5);
    Thread.sleep(300);
    // a second of successes reported 300 ms after the throttle counts for 300 ms: two nodes each reporting their own
    // second would otherwise recover the factor twice as fast as one node seeing them all
    SiteTokens t = tokens("recovering.test", 10, 1, 1000);
    assertTrue(t.factor() > 0.5 + RECOVERY * 0.25 && t.factor() <= 0.5 + RECOVERY * 0.4, "factor " + t.factor());
    SiteTokens again = tokens("recovering.test", 10, 1, 1000);
    assertTrue(again.factor() - t.factor() < RECOVERY * 0.05, "factor " + t.factor() + " then " + again.factor());
    // kept in Redis for as long as recovering the rest takes with successes all the time: (1 - 0.5) / 0.02 = 25 s
    long ttl = await(redis.send(Request.cmd(Command.PTTL).arg(prefix + "site:{recovering.test}:throttle"))).toLong();
    assertTrue(ttl > 20_000 && ttl <= 25_000, "the shared state expires in " + ttl + " ms");
    // fully recovered, it is gone at once (at its full rate again, as a site never throttled)
    throttle("nearly.test", 0, 0.995);
    Thread.sleep(300);
    assertEquals(1.0, tokens("nearly.test", 10, 1, 1000).factor(), 1e-9);
    Thread.sleep(20);
    assertEquals(0L, await(redis.send(Request.cmd(Command.EXISTS).arg(prefix + "site:{nearly.test}:throttle")))
        .toLong());
  }
}
