package io.mailgate.ratelimit;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.config.MailgateConfig;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
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
import java.util.logging.Logger;

/**
 * Each account's MaxSendRate and Max24HourSend, held across all nodes in Redis by one atomic script
 * ({@code ratelimit/send_limits.lua}): one round trip per send when sends come one at a time; the
 * checks of one account that arrive while its previous call runs are decided together by the next,
 * each in order as if alone. When Redis cannot be reached, or a call does not answer within the
 * batch timeout, the check fails and the send is refused with a retryable error: never accepted
 * without limits.
 *
 * <p>A Redis that lost its data (restarted without persistence, failed over to an empty replica, flushed) must not
 * hand every account a fresh daily quota. A marker key says that this Redis holds the counts of the last day; without
 * it, the script decides nothing for a limited account whose count it does not hold, and those sends are refused
 * retryably (503) while one node (a lock in Redis) counts every account's last day again from PostgreSQL
 * ({@link QuotaHistory}, {@code ratelimit/seed_quota.lua}) and sets the marker. Each node does this at start when the
 * marker is missing, so a fresh or emptied Redis is counted before the first send, and a node notices a loss later by
 * the script's answer, or by its readiness check ({@link #holdsCounts}), which says not ready meanwhile. With the
 * marker there, an account without a count is new or sent nothing for a day.
 *
 * <p>One instance per event loop, made on the context of the verticle that sends (the HTTP
 * verticle): a check is a method call on the caller's own thread, not a trip over the event bus to
 * another loop and back. Its state belongs to that context; a call from elsewhere is moved onto it.
 */
public final class SendLimiter {
  private static final Logger LOG = Logger.getLogger(SendLimiter.class.getName());
  static final String SCRIPT_NAME = "ratelimit/send_limits.lua";
  static final String SEED_SCRIPT_NAME = "ratelimit/seed_quota.lua";
  static final String REFUND_SCRIPT_NAME = "ratelimit/send_refund.lua";
  static final String RESTORE_LOCK_SCRIPT_NAME = "ratelimit/restore_lock.lua";
  /** How long a node may take to count the last day again before another node may try. */
  static final long RESTORE_LOCK_MILLIS = 150_000;
  /** How long after a failed attempt to count the last day again the next may start. */
  static final long RETRY_RESTORE_MILLIS = 5_000;
  /** How long a node's start waits for the counts to be restored (they go on being restored after that). */
  static final long START_RESTORE_MILLIS = 10_000;
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
  private final RedisScript refundScript = new RedisScript(REFUND_SCRIPT_NAME);
  private final RedisScript restoreLockScript = new RedisScript(RESTORE_LOCK_SCRIPT_NAME);
  private final QuotaHistory history;
  /** Set once this Redis holds every account's count of the last day. */
  private final String countsKey;
  /** Held by the node counting the last day again. */
  private final String restoringKey;
  /** This instance's restoring of the counts under way, if any. */
  private Future<Void> restoring;
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
    this.countsKey = prefix + "quota-counts";
    this.restoringKey = prefix + "quota-counts:restoring";
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

  /**
   * Loads the script now when Redis is up, and when it does not hold the counts of the last day, has them counted again
   * (waiting for that up to {@link #START_RESTORE_MILLIS}); if Redis is not up (or does not answer), the first check
   * does both.
   */
  public Future<Void> start() {
    return script.load(redis)
        .timeout(batchTimeoutMillis, TimeUnit.MILLISECONDS)
        .compose(v -> redis.exists(List.of(countsKey)))
        .compose(n -> n.toInteger() == 1 ? Future.<Void>succeededFuture()
            : restoreCounts().timeout(START_RESTORE_MILLIS, TimeUnit.MILLISECONDS))
        .otherwiseEmpty();
  }

  public Future<Void> close() {
    return client.close();
  }

  /**
   * Whether Redis holds the 24-hour send counts, asked of it within {@code millis} (a readiness check's): true when it
   * does; false when it lost them and they are being counted again, during which sends of limited accounts are
   * refused, so a load balancer should send them elsewhere. Then it has them counted, as a send would: a node that
   * this answer takes out of a load balancer gets no send that would notice. Fails when Redis does not answer.
   */
  public Future<Boolean> holdsCounts(long millis) {
    return redis.exists(List.of(countsKey)).timeout(millis, TimeUnit.MILLISECONDS).map(n -> {
      if (n.toInteger() == 1) {
        return true;
      }
      if (Vertx.currentContext() == context) {
        restoreCounts();
      } else {
        context.runOnContext(v -> restoreCounts());
      }
      return false;
    });
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

  /**
   * {@code check} as a request's answer, the one mapping of every limit a request meets (sends, verification emails,
   * SendBounce): succeeds when the check is allowed, and counted; fails with TooManyRequests (Throttling in the v1
   * API) saying {@code rateExceeded} or {@code quotaExceeded}; or with ServiceUnavailable saying {@code unavailable}
   * when Redis cannot tell, as nothing is allowed without its limits.
   */
  public Future<Void> admit(RateCheck check, String rateExceeded, String quotaExceeded, String unavailable) {
    return check(check)
        .recover(e -> {
          refused(e);
          return Future.failedFuture(new SesException(SesError.SERVICE_UNAVAILABLE, unavailable));
        })
        .compose(decision -> {
          decided();
          return Future.succeededFuture(decision);
        })
        .compose(decision -> switch (decision.status()) {
          case ALLOWED -> Future.<Void>succeededFuture();
          case RATE_EXCEEDED -> Future.failedFuture(new SesException(SesError.TOO_MANY_REQUESTS, rateExceeded));
          case QUOTA_EXCEEDED -> Future.failedFuture(new SesException(SesError.TOO_MANY_REQUESTS, quotaExceeded));
        });
  }

  /** How often, at most, an outage's refusals are logged again while it lasts. */
  static final long REFUSALS_LOG_MILLIS = 60_000;
  /** Requests refused since the sending limits became unavailable (0: they are available); on this context only. */
  private long refusals;
  private long refusedAt;
  private long refusedLoggedAt;

  /**
   * Logs a request refused for want of the sending limits: the first of an outage, then how many more every
   * {@link #REFUSALS_LOG_MILLIS}, not each one (a Redis restart under load refused thousands a second, each a line).
   */
  private void refused(Throwable e) {
    long now = System.currentTimeMillis();
    if (refusals++ == 0) {
      refusedAt = now;
      refusedLoggedAt = now;
      LOG.warning("sending limits unavailable, sends are refused (503) until they are back: " + e.getMessage());
    } else if (now - refusedLoggedAt >= REFUSALS_LOG_MILLIS) {
      refusedLoggedAt = now;
      LOG.warning("sending limits still unavailable, " + refusals + " sends refused in " + (now - refusedAt) / 1000
          + " s: " + e.getMessage());
    }
  }

  /** A check Redis decided: an outage, if there was one, is over. */
  private void decided() {
    if (refusals > 0) {
      LOG.info("sending limits available again: " + refusals + " sends were refused in "
          + (System.currentTimeMillis() - refusedAt) + " ms");
      refusals = 0;
    }
  }

  /**
   * Gives back what an allowed {@code check} counted, when its send was not accepted after all (its message could not
   * be stored, or grew past the size limit): a refused request is not a sent email, and a client retrying a 503 must
   * not spend its quota on each try. Best effort: if Redis does not answer, the count stays (as it would for a send).
   */
  public Future<Void> refund(RateCheck check) {
    String tag = "{" + check.accountId() + "}";
    return within(refundScript, List.of("2", prefix + tag + ":rate", quotaKey(check.accountId()),
            Double.toString(check.maxSendRate()), Integer.toString(check.rateCost()),
            Integer.toString(check.quotaCost())), batchTimeoutMillis, "no answer from Redis in " + batchTimeoutMillis
            + " ms")
        .onFailure(e -> LOG.warning("a refused send's count was not given back: " + e.getMessage()))
        .mapEmpty();
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
    String[] args = new String[6 + 2 * batch.size()];
    args[0] = "3";
    args[1] = prefix + tag + ":rate";
    args[2] = quotaKey(account);
    args[3] = countsKey;
    args[4] = Double.toString(last.maxSendRate());
    args[5] = Long.toString(last.max24HourSend());
    for (int i = 0; i < batch.size(); i++) {
      RateCheck c = batch.get(i).check();
      args[6 + 2 * i] = Integer.toString(c.rateCost());
      args[7 + 2 * i] = Integer.toString(c.quotaCost());
    }
    within(script, List.of(args), batchTimeoutMillis, "no answer from Redis in " + batchTimeoutMillis + " ms",
        late -> refundLate(batch, late))
        .compose(r -> {
          if (r != null && r.size() == 1 && r.get(0).toInteger() == -2) {
            restoreCounts();
            return Future.failedFuture("Redis lost the 24-hour send counts; they are being counted again from the "
                + "database");
          }
          return Future.succeededFuture(r);
        })
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
   * Gives back what a batch's call counted when its answer came after the batch was refused for want of one: those
   * sends were answered 503 and will be tried again, and a retried 503 must not spend the quota twice.
   */
  private void refundLate(List<Pending> batch, Response late) {
    if (late == null || late.size() != 2 * batch.size()) {
      return; // {-2}: nothing was decided
    }
    for (int i = 0; i < batch.size(); i++) {
      if (late.get(2 * i).toInteger() == 1) {
        refund(batch.get(i).check());
      }
    }
  }

  private Future<Response> within(RedisScript which, List<String> args, long millis, String why) {
    return within(which, args, millis, why, null);
  }

  /**
   * The {@code which} script with {@code args}, failed with {@code why} unless Redis answers within {@code millis}: an
   * account's checks wait on the call, and one that hangs must not hold them for good. An answer that comes after
   * that goes to {@code late}, if given.
   */
  private Future<Response> within(RedisScript which, List<String> args, long millis, String why,
      Handler<Response> late) {
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
        if (!answer.tryComplete(ar.result()) && late != null) {
          late.handle(ar.result());
        }
      } else {
        answer.tryFail(ar.cause());
      }
    });
    return answer.future();
  }

  private String quotaKey(String account) {
    return prefix + "{" + account + "}:quota";
  }

  /**
   * Counts every account's last day again from PostgreSQL into this Redis, then sets the marker: on one node at a time
   * (a lock in Redis, given up after {@link #RESTORE_LOCK_MILLIS} if that node dies, held longer after each part of
   * the count while it counts), once per instance at a time. Completes when done, or at once when another node holds the
   * lock.
   */
  private Future<Void> restoreCounts() {
    if (restoring != null) {
      return restoring;
    }
    String token = java.util.UUID.randomUUID().toString(); // this count's: its lock is held and given up by it only
    Future<Void> f = redis.set(List.of(restoringKey, token, "NX", "PX", Long.toString(RESTORE_LOCK_MILLIS)))
        .compose(locked -> locked == null ? Future.<Void>succeededFuture() : history.sentLastDay(
                () -> restoreLockScript.evaluate(redis, List.of("1", restoringKey, token,
                    Long.toString(RESTORE_LOCK_MILLIS))).compose(held -> held.toInteger() == 1 ? Future.succeededFuture()
                    : Future.failedFuture("the count's lock ran out and another node counts now")))
            .compose(sent -> seed(new ArrayList<>(sent.entrySet()), 0).map(v -> sent.size()))
            .compose(accounts -> redis.set(List.of(countsKey, Long.toString(System.currentTimeMillis() / 1000)))
                .onSuccess(v -> LOG.info("Redis held no 24-hour send counts: counted again from the database ("
                    + accounts + " accounts sent in the last day)")))
            .eventually(() -> restoreLockScript.evaluate(redis, List.of("1", restoringKey, token, "0")))
            .<Void>mapEmpty())
        .onFailure(e -> LOG.warning("cannot count the 24-hour send counts again (sends of limited accounts are "
            + "refused until they are): " + e.getMessage()));
    restoring = f;
    // a failure (the database down, say) is not tried again by every batch at once: after a few seconds
    f.onComplete(ar -> vertx.setTimer(ar.succeeded() ? 1 : RETRY_RESTORE_MILLIS, t -> {
      if (restoring == f) {
        restoring = null;
      }
    }));
    return f;
  }

  /** Seeds the accounts' counts from {@code from} on, {@link #MAX_BATCH} script calls at a time. */
  private Future<Void> seed(List<Map.Entry<String, Map<Long, Long>>> accounts, int from) {
    if (from >= accounts.size()) {
      return Future.succeededFuture();
    }
    List<Future<Response>> seeded = new ArrayList<>(MAX_BATCH);
    for (Map.Entry<String, Map<Long, Long>> e : accounts.subList(from, Math.min(accounts.size(), from + MAX_BATCH))) {
      List<String> args = new ArrayList<>(2 + 2 * e.getValue().size());
      args.add("1");
      args.add(quotaKey(e.getKey()));
      e.getValue().forEach((bucket, n) -> {
        args.add(Long.toString(bucket));
        args.add(Long.toString(n));
      });
      seeded.add(seedScript.evaluate(redis, args));
    }
    return Future.all(seeded).compose(v -> seed(accounts, from + MAX_BATCH));
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
