package io.mailgate.ratelimit;

import io.mailgate.config.MailgateConfig;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Response;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Each account's MaxSendRate and Max24HourSend, held across all nodes in Redis by one atomic script
 * ({@code ratelimit/send_limits.lua}): one round trip per send when sends come one at a time; the
 * checks of one account that arrive while its previous call runs are decided together by the next,
 * each in order as if alone. When Redis cannot be reached, or a call does not answer within the
 * batch timeout, the check fails and the send is refused with a retryable error: never accepted
 * without limits.
 *
 * <p>When Redis has no 24-hour count for an account (a new account, one idle for a day, or a Redis that lost its
 * data: restarted without persistence, failed over to an empty replica), the script decides nothing and the count is
 * seeded from what PostgreSQL recorded ({@link QuotaHistory}, {@code ratelimit/seed_quota.lua}) before the batch is
 * decided: a lost Redis must not hand every account a fresh daily quota. The account's checks wait meanwhile (they
 * queue behind the running call as usual), up to {@link #SEED_TIMEOUT_MILLIS}.
 *
 * <p>One instance per event loop, made on the context of the verticle that sends (the HTTP
 * verticle): a check is a method call on the caller's own thread, not a trip over the event bus to
 * another loop and back. Its state belongs to that context; a call from elsewhere is moved onto it.
 */
public final class SendLimiter {
  static final String SCRIPT_NAME = "ratelimit/send_limits.lua";
  static final String SEED_SCRIPT_NAME = "ratelimit/seed_quota.lua";
  /** How long seeding an account's count from PostgreSQL (and asking again) may take before its checks are refused. */
  static final long SEED_TIMEOUT_MILLIS = 30_000;
  /** Most sends an unlimited account's seed counts (it only shows as SentLast24Hours). */
  static final long UNLIMITED_SEED_LIMIT = 1_000_000;
  /** Sends decided by one script call at most. */
  static final int MAX_BATCH = 256;
  /** An account's checks waiting for its running call at most; more are refused (503) at once. */
  static final int MAX_QUEUED = 10_000;
  /** A batch whose call has not answered by then is refused (503), with the checks queued behind it. */
  static final long BATCH_TIMEOUT_MILLIS = 5_000;

  private record Pending(RateCheck check, Promise<RateDecision> answer) {}

  private final Vertx vertx;
  private final Context context;
  private final Redis client;
  private final RedisAPI redis;
  private final RedisScript script = new RedisScript(SCRIPT_NAME);
  private final RedisScript seedScript = new RedisScript(SEED_SCRIPT_NAME);
  private final QuotaHistory history;
  private final String prefix;
  private final long batchTimeoutMillis;
  /** Accounts with a script call running, and their checks that wait for the next one. */
  private final Map<String, ArrayDeque<Pending>> queued = new HashMap<>();

  /** A limiter for the current context (a verticle's event loop). */
  public SendLimiter(Vertx vertx, MailgateConfig config, QuotaHistory history) {
    this(vertx, config, history, BATCH_TIMEOUT_MILLIS);
  }

  SendLimiter(Vertx vertx, MailgateConfig config, QuotaHistory history, long batchTimeoutMillis) {
    this.vertx = vertx;
    this.history = history;
    this.context = vertx.getOrCreateContext();
    this.batchTimeoutMillis = batchTimeoutMillis;
    this.prefix = config.get(MailgateConfig.REDIS_KEY_PREFIX);
    this.client = Redis.createClient(vertx, redisOptions(config));
    this.redis = RedisAPI.api(client);
  }

  static RedisOptions redisOptions(MailgateConfig config) {
    return new RedisOptions()
        .setConnectionString(config.get(MailgateConfig.REDIS_URL))
        .setMaxPoolSize(4)
        .setMaxPoolWaiting(10_000)
        .setMaxWaitingHandlers(100_000);
  }

  /** Loads the script now when Redis is up; if it is not (or does not answer), the first check loads it. */
  public Future<Void> start() {
    return script.load(redis).<Void>mapEmpty()
        .timeout(batchTimeoutMillis, TimeUnit.MILLISECONDS)
        .otherwiseEmpty();
  }

  public Future<Void> close() {
    return client.close();
  }

  /** Whether the account may send now; counts the send when it may. */
  public Future<RateDecision> check(RateCheck check) {
    Promise<RateDecision> answer = Promise.promise();
    if (Vertx.currentContext() == context) {
      enqueue(new Pending(check, answer));
    } else {
      context.runOnContext(v -> enqueue(new Pending(check, answer)));
    }
    return answer.future();
  }

  private void enqueue(Pending p) {
    String account = p.check().accountId();
    ArrayDeque<Pending> waiting = queued.get(account);
    if (waiting != null) {
      if (waiting.size() >= MAX_QUEUED) { // Redis slower than the sends: refuse now rather than hold them all
        p.answer().fail("rate limiter unavailable: " + MAX_QUEUED + " checks of this account are waiting");
        return;
      }
      waiting.add(p); // a call for this account is running: this one goes with the next
      return;
    }
    queued.put(account, new ArrayDeque<>());
    checkBatch(account, List.of(p));
  }

  /**
   * One script call decides a batch of one account's sends in order; when it returns, the sends
   * queued meanwhile go as the next batch. Under load one round trip serves many sends, and Redis
   * runs the script once for all of them.
   */
  private void checkBatch(String account, List<Pending> batch) {
    RateCheck last = batch.get(batch.size() - 1).check(); // the newest limits, if they just changed
    String tag = "{" + account + "}";
    String[] args = new String[5 + 2 * batch.size()];
    args[0] = "2";
    args[1] = prefix + tag + ":rate";
    args[2] = prefix + tag + ":quota";
    args[3] = Double.toString(last.maxSendRate());
    args[4] = Long.toString(last.max24HourSend());
    for (int i = 0; i < batch.size(); i++) {
      RateCheck c = batch.get(i).check();
      args[5 + 2 * i] = Integer.toString(c.rateCost());
      args[6 + 2 * i] = Integer.toString(c.quotaCost());
    }
    List<String> call = List.of(args);
    String late = "no answer from Redis in " + batchTimeoutMillis + " ms";
    within(script, call, batchTimeoutMillis, late)
        .compose(r -> !unknownCount(r) ? Future.succeededFuture(r)
            : seed(account, args[2], last.max24HourSend())
                .compose(v -> within(script, call, batchTimeoutMillis, late))
                .compose(again -> unknownCount(again)
                    ? Future.failedFuture("the 24-hour count of the account was lost again while it was seeded")
                    : Future.succeededFuture(again)))
        .onComplete(ar -> {
          try {
            for (int i = 0; i < batch.size(); i++) {
              answer(batch.get(i).answer(), ar, i);
            }
            if (ar.failed()) {
              // the checks queued behind it would each wait a timeout of their own, batch after batch, and the
              // calls left unanswered may still run when Redis comes back: refuse them now too
              ArrayDeque<Pending> waiting = queued.get(account);
              for (Pending p = waiting.poll(); p != null; p = waiting.poll()) {
                p.answer().fail("rate limiter unavailable: " + ar.cause().getMessage());
              }
            }
          } finally {
            next(account);
          }
        });
  }

  /**
   * The {@code which} script with {@code args}, failed with {@code why} unless Redis answers within {@code millis}: an
   * account's checks wait on the call, and one that hangs must not hold them for good.
   */
  private Future<Response> within(RedisScript which, List<String> args, long millis, String why) {
    Promise<Response> answer = Promise.promise();
    long timer = vertx.setTimer(millis, t -> answer.tryFail(why));
    Future<Response> call;
    try {
      call = which.evaluate(redis, args);
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
    return answer.future();
  }

  /** The script's answer when it holds no 24-hour count for the account: {@code [-2]}. */
  private static boolean unknownCount(Response r) {
    return r != null && r.size() == 1 && r.get(0).toInteger() == -2;
  }

  /** Seeds the account's 24-hour count ({@code quotaKey}) from PostgreSQL, unless another call did meanwhile. */
  private Future<Void> seed(String account, String quotaKey, long max24HourSend) {
    Promise<Void> done = Promise.promise();
    long timer = vertx.setTimer(SEED_TIMEOUT_MILLIS, t -> done.tryFail("the account's 24-hour count could not be "
        + "read from the database within " + SEED_TIMEOUT_MILLIS / 1000 + " s"));
    Future<Map<Long, Long>> sent;
    try {
      sent = history.sentByBucket(account, max24HourSend >= 0 ? max24HourSend + 1 : UNLIMITED_SEED_LIMIT);
    } catch (RuntimeException e) {
      sent = Future.failedFuture(e);
    }
    sent.compose(buckets -> {
          List<String> args = new ArrayList<>(2 + 2 * buckets.size());
          args.add("1");
          args.add(quotaKey);
          buckets.forEach((bucket, n) -> {
            args.add(Long.toString(bucket));
            args.add(Long.toString(n));
          });
          return seedScript.evaluate(redis, args);
        })
        .onComplete(ar -> {
          vertx.cancelTimer(timer);
          if (ar.succeeded()) {
            done.tryComplete();
          } else {
            done.tryFail(ar.cause());
          }
        });
    return done.future();
  }

  private static void answer(Promise<RateDecision> p, AsyncResult<Response> ar, int i) {
    Response r = ar.succeeded() ? ar.result() : null;
    if (r == null || r.size() < 2 * i + 2) {
      p.fail("rate limiter unavailable: " + (ar.failed() ? ar.cause().getMessage() : "short answer from " + SCRIPT_NAME));
      return;
    }
    int status = r.get(2 * i).toInteger();
    long total = r.get(2 * i + 1).toLong();
    p.complete(new RateDecision(status == 1 ? RateDecision.Status.ALLOWED
        : status == 0 ? RateDecision.Status.RATE_EXCEEDED : RateDecision.Status.QUOTA_EXCEEDED, total));
  }

  /** Sends the account's checks that queued during its last call, or forgets the account. */
  private void next(String account) {
    ArrayDeque<Pending> waiting = queued.get(account);
    if (waiting.isEmpty()) {
      queued.remove(account);
      return;
    }
    List<Pending> next = new ArrayList<>(Math.min(waiting.size(), MAX_BATCH));
    while (!waiting.isEmpty() && next.size() < MAX_BATCH) {
      next.add(waiting.poll());
    }
    checkBatch(account, next);
  }
}
