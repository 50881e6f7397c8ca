package io.mailgate.ratelimit;

import io.mailgate.EventBusAddresses;
import io.mailgate.config.MailgateConfig;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The limits that hold across all nodes, in Redis, each one atomic Lua script:
 *
 * <ul>
 *   <li>each account's MaxSendRate and Max24HourSend ({@code ratelimit/send_limits.lua}): one round
 *       trip per send when they come one at a time; the checks of one account that arrive while its
 *       previous call runs are decided together by the next. When Redis cannot be reached the check fails and the
 *       send is refused with a retryable error: never accepted without limits;
 *   <li>each destination site's maxMessagesPerSecond, in batches of tokens
 *       ({@code ratelimit/site_tokens.lua}). When Redis cannot be reached the request fails and the
 *       delivery instance falls back to its own share of the limit.
 * </ul>
 */
public final class RateLimiterVerticle extends VerticleBase {
  private static final String SCRIPT_NAME = "ratelimit/send_limits.lua";
  static final String SCRIPT = loadScript(SCRIPT_NAME);
  static final String SITE_SCRIPT = loadScript("ratelimit/site_tokens.lua");

  /** A script and, once Redis has it, its SHA1. */
  private static final class Script {
    final String source;
    String sha;

    Script(String source) {
      this.source = source;
    }
  }

  /** Sends decided by one script call at most. */
  static final int MAX_BATCH = 256;
  /** A batch whose call has not answered by then is refused (503), and the next one goes. */
  static final long BATCH_TIMEOUT_MILLIS = 5_000;
  private final long batchTimeoutMillis;

  private final MailgateConfig config;
  /** Accounts with a script call running, and their checks that wait for the next one. */
  private final Map<String, ArrayDeque<Message<RateCheck>>> queued = new HashMap<>();
  private final Script sendLimits = new Script(SCRIPT);
  private final Script siteTokens = new Script(SITE_SCRIPT);
  private Redis client;
  private RedisAPI redis;
  private String prefix;

  public RateLimiterVerticle(MailgateConfig config) {
    this(config, BATCH_TIMEOUT_MILLIS);
  }

  RateLimiterVerticle(MailgateConfig config, long batchTimeoutMillis) {
    this.config = config;
    this.batchTimeoutMillis = batchTimeoutMillis;
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
    vertx.eventBus().<SiteTokenRequest>localConsumer(EventBusAddresses.SITE_TOKENS, this::siteTokens);
    // load the scripts now when Redis is up; if it is not (or does not answer), the first use loads them
    return Future.join(load(sendLimits), load(siteTokens))
        .timeout(batchTimeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS)
        .otherwiseEmpty();
  }

  @Override
  public Future<?> stop() {
    return client == null ? Future.succeededFuture() : client.close();
  }

  private void check(Message<RateCheck> msg) {
    String account = msg.body().accountId();
    ArrayDeque<Message<RateCheck>> waiting = queued.get(account);
    if (waiting != null) {
      waiting.add(msg); // a call for this account is running: this one goes with the next
      return;
    }
    queued.put(account, new ArrayDeque<>());
    checkBatch(account, List.of(msg));
  }

  /**
   * One script call decides a batch of one account's sends in order; when it returns, the sends
   * queued meanwhile go as the next batch. Under load one round trip serves many sends, and Redis
   * runs the script once for all of them.
   */
  private void checkBatch(String account, List<Message<RateCheck>> batch) {
    RateCheck last = batch.get(batch.size() - 1).body(); // the newest limits, if they just changed
    String tag = "{" + account + "}";
    String[] args = new String[5 + 2 * batch.size()];
    args[0] = "2";
    args[1] = prefix + tag + ":rate";
    args[2] = prefix + tag + ":quota";
    args[3] = Double.toString(last.maxSendRate());
    args[4] = Long.toString(last.max24HourSend());
    for (int i = 0; i < batch.size(); i++) {
      RateCheck c = batch.get(i).body();
      args[5 + 2 * i] = Integer.toString(c.rateCost());
      args[6 + 2 * i] = Integer.toString(c.quotaCost());
    }
    // an account's checks wait on this call: one that hangs must not hold them for good
    Promise<Response> answer = Promise.promise();
    long timer = vertx.setTimer(batchTimeoutMillis,
        t -> answer.tryFail("no answer from Redis in " + batchTimeoutMillis + " ms"));
    Future<Response> call;
    try {
      call = evaluate(sendLimits, List.of(args));
    } catch (RuntimeException e) {
      call = Future.failedFuture(e);
    }
    call.onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        answer.tryComplete(ar.result());
      } else {
        answer.tryFail(ar.cause());
      }
    });
    answer.future().onComplete(ar -> {
      try {
        for (int i = 0; i < batch.size(); i++) {
          answer(batch.get(i), ar, i);
        }
      } finally {
        next(account);
      }
    });
  }

  private static void answer(Message<RateCheck> msg, AsyncResult<Response> ar, int i) {
    Response r = ar.succeeded() ? ar.result() : null;
    if (r == null || r.size() < 2 * i + 2) {
      msg.fail(503, "rate limiter unavailable: "
          + (ar.failed() ? ar.cause().getMessage() : "short answer from " + SCRIPT_NAME));
      return;
    }
    int status = r.get(2 * i).toInteger();
    long total = r.get(2 * i + 1).toLong();
    msg.reply(new RateDecision(status == 1 ? RateDecision.Status.ALLOWED
        : status == 0 ? RateDecision.Status.RATE_EXCEEDED : RateDecision.Status.QUOTA_EXCEEDED, total));
  }

  /** Sends the account's checks that queued during its last call, or forgets the account. */
  private void next(String account) {
    ArrayDeque<Message<RateCheck>> waiting = queued.get(account);
    if (waiting.isEmpty()) {
      queued.remove(account);
      return;
    }
    List<Message<RateCheck>> next = new ArrayList<>(Math.min(waiting.size(), MAX_BATCH));
    while (!waiting.isEmpty() && next.size() < MAX_BATCH) {
      next.add(waiting.poll());
    }
    checkBatch(account, next);
  }

  private void siteTokens(Message<SiteTokenRequest> msg) {
    SiteTokenRequest r = msg.body();
    List<String> args = List.of("1", prefix + "site:{" + r.site() + "}", Double.toString(r.perSecond()),
        Integer.toString(r.burst()), Integer.toString(r.want()));
    evaluate(siteTokens, args).onComplete(ar -> {
      if (ar.failed()) {
        msg.fail(503, "site limiter unavailable: " + ar.cause().getMessage());
      } else {
        msg.reply(new SiteTokens(ar.result().get(0).toInteger(), ar.result().get(1).toLong()));
      }
    });
  }

  private Future<String> load(Script script) {
    return redis.script(List.of("LOAD", script.source)).map(r -> script.sha = r.toString());
  }

  private Future<Response> evaluate(Script script, List<String> args) {
    if (script.sha == null) {
      return load(script).compose(sha -> redis.evalsha(prepend(sha, args)));
    }
    return redis.evalsha(prepend(script.sha, args)).recover(e -> {
      // Redis restarted (scripts are not persisted): load it again
      if (e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT")) {
        return load(script).compose(sha -> redis.evalsha(prepend(sha, args)));
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

  private static String loadScript(String resource) {
    try (InputStream in = RateLimiterVerticle.class.getClassLoader().getResourceAsStream(resource)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
