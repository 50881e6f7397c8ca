package io.mailgate.events;

import io.mailgate.NetAddresses;
import io.mailgate.config.MailgateConfig;
import io.mailgate.identity.SecretBox;
import io.mailgate.metrics.Metrics;
import io.mailgate.store.Database;
import io.mailgate.store.EventOutbox;
import io.mailgate.store.ReceiptOutbox;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.sqlclient.Pool;
import java.net.InetAddress;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Publishes events: takes due rows from the event outbox (any node may take any row; a claimed row is leased), posts
 * each as SES's event JSON to its destination's webhook, signed ({@link WebhookSigner}), and deletes it once the
 * webhook answered 2xx. Any other answer, no answer within {@code events.timeoutSeconds} (resolving, connecting and
 * the answer together) or a refused connection is tried again after {@code events.retryBaseSeconds} (10 s), three
 * times that, and so on up to hourly, until {@code events.maxAgeHours} after the event, when it is dropped and
 * logged. Delivery is at least once: a webhook that took an event but whose answer was lost gets it again, with the
 * same {@code webhook-id}.
 *
 * <p>A failing webhook must not hold up the others: a destination has at most half of the node's posts at a time (an
 * equal part of them while others have events in hand), and one that failed {@link #TRIP_AFTER} times in a row gets
 * one post at a time, its backlog left in the table meanwhile (for 10 s per failure, up to 10 minutes: its events in
 * hand are put off that long, and claims pass it by), until a post succeeds. A destination slower than its events come (answering
 * 2xx, so never put off) holds at most four times its share of events in the node; its backlog waits in the table while
 * the others' events are claimed past it.
 *
 * <p>What a claim read of a destination (its URL, whether it is enabled, its event types) is read again before its
 * events are posted once it is more than {@link #CHECKED_NANOS} old: one query for every destination the node holds
 * events for, at most about once a second. Events held for a destination since disabled or deleted, or that no
 * longer takes their type, are dropped, as the outbox's waiting events were; those of a changed URL go to the new one.
 *
 * <p>An identity's notification topics are destinations too (of the identity rather than a configuration set): what
 * they are owed is in the same outbox, claimed, signed, retried and put off alike, and posted in SES's notification
 * format ({@code notificationType}, {@link SesEvents#notification}) instead of the event format.
 *
 * <p>Receipt notifications (what receipt rules' SNS actions and topics are owed, {@code receipt_outbox}) go the same
 * way: signed alike ({@code webhook-id} {@code rcv_<n>}), retried alike, with up to half the node's posts.
 *
 * <p>A webhook's host is resolved here and the connection made to the address that was checked: unless
 * {@code events.allowPrivateAddresses}, an address on the node's own networks is refused (a tenant's URL or DNS must
 * not reach internal services), and a DNS answer that changes between check and connect cannot slip past.
 */
public final class EventPublisherVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(EventPublisherVerticle.class.getName());
  /** The longest delay between two attempts of an event. */
  static final Duration MAX_BACKOFF = Duration.ofHours(1);
  /** How often a node drops events whose destination was deleted while they were written. */
  private static final long SWEEP_MILLIS = 600_000L;
  private static final int SWEEP_BATCH = 10_000;
  /** Failures in a row after which a destination gets one post at a time. */
  static final int TRIP_AFTER = 3;
  /**
   * Threads resolving webhook host names (blocking), and how many of them one account's lookups may hold. No more
   * lookups than threads are under way: one waiting in the executor's queue would spend its post's deadline there, and
   * be counted as its webhook's failure, when other accounts' dead name servers held every thread.
   */
  static final int RESOLVER_THREADS = 8;
  static final int LOOKUPS_PER_ACCOUNT = 2;

  /** Looks a host name up (blocking). */
  interface HostLookup {
    InetAddress[] addresses(String host) throws java.net.UnknownHostException;
  }

  /** How webhook host names are looked up: the system resolver; a test may answer for names of its own. */
  static volatile HostLookup hostLookup = InetAddress::getAllByName;
  /** Destinations the node keeps what it knows of beyond those with posts or events in hand (idle ones go). */
  static final int PRUNE_ABOVE = 1000;
  /** Webhook host names whose addresses the node keeps. */
  static final int HOSTS_KEPT = 1024;
  /** How long what the node read of a destination is taken as it is before posting its events: read again after. */
  static final long CHECKED_NANOS = 1_000_000_000L;
  /** Most of an answer's body read (and ignored); a longer one ends its connection. */
  private static final int MAX_ANSWER_BYTES = 64 * 1024;

  private final MailgateConfig config;
  private final SecretBox secrets;
  private final Clock clock;
  private Pool db;
  private EventOutbox outbox;
  private ReceiptOutbox receipts;
  private int receiptsInFlight;
  private boolean claimingReceipts;
  /** The last claim was full: more may be due, claimed as posts end rather than at the next timer round. */
  private boolean receiptsBacklog;
  /** Receipt notification webhooks by URL: their posts under way and failures in a row (no events held). */
  private final Map<String, Destination> receiptUrls = new HashMap<>();
  private HttpClient http;
  private WorkerExecutor resolver;
  /**
   * Secrets whose keyed HMAC the publisher keeps (about a kilobyte each): a node signs for as many accounts and
   * destinations as have webhooks.
   */
  static final int SIGNING_KEYS_KEPT = 8192;
  private WebhookSigner.Macs signer;
  private Metrics metrics;
  private int concurrency;
  private int perDestination;
  /** Most events of one destination a node holds, and takes in one claim: four times its share of the posts. */
  private int holdPerDestination;
  private int timeoutMillis;
  private int leaseSeconds;
  private Duration maxAge;
  private Duration firstBackoff;
  private boolean allowPrivate;
  private long timer;
  private long sweepTimer;
  private int inFlight;
  private boolean claiming;
  private boolean backlog;
  private boolean stopping;
  private final List<Long> published = new ArrayList<>();
  /** Claimed events not posted yet, in the order they were claimed. */
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();
  private boolean removing;
  /** Destinations with posts under way or failures in a row, by id. */
  private final Map<Long, Destination> destinations = new HashMap<>();
  /** Host names being resolved: the posts to one host share its lookup (a dead name server holds one thread). */
  private final Map<String, Future<InetAddress[]>> resolving = new HashMap<>();
  /**
   * Host names looked up, with their addresses, for as long as the JVM keeps a lookup ({@link #hostTtlMillis}): a
   * post to a known host goes without a hop to a resolver thread. The most recently used {@link #HOSTS_KEPT}.
   */
  private final Map<String, Resolved> resolved = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Resolved> eldest) {
      return size() > HOSTS_KEPT;
    }
  };
  private long hostTtlMillis;
  /** Lookups under way by the account that asked for them, and in all (at most {@link #RESOLVER_THREADS}). */
  private final Map<String, Integer> lookupsByAccount = new HashMap<>();
  private int lookupsUnderWay;
  private boolean dispatching;
  private boolean dispatchAgain;
  /** The paused destinations are being read ({@link #pausedUrlChanged}). */
  private boolean checkingPauses;
  /** The destinations held for are being read again ({@link #readDestinations}). */
  private boolean readingDestinations;
  /** The {@link System#nanoTime} before which a failed read is not tried again (events go as they were read). */
  private long readAgainAfter = System.nanoTime();

  /** {@code untilNanos}: the {@link System#nanoTime} after which the name is looked up again (clock steps aside). */
  private record Resolved(InetAddress[] addresses, long untilNanos) {}

  /** What this node knows of a destination's recent posts. */
  private static final class Destination {
    int inFlight;
    /** Events of the destination in {@link #pending}. */
    int held;
    /** Its last claim took as many as a claim takes of one destination: more may be due. */
    boolean more;
    /** Failures in a row: one per round of posts, however many of a round fail together (see {@link #publish}). */
    int failures;
    long putOffUntil;
    /** Posts begun, and how many had begun when the last failure was counted. */
    long begun;
    long countedThrough;
    /** The URL whose failures paused it (see {@link #pausedUrlChanged}); null while it is not paused. */
    String pausedUrl;
    /** The {@link System#nanoTime} its pause was last read to see whether its URL changed. */
    long pauseCheckedAt;
    /** What the last read of the destination found (null: deleted), and when it began; none yet when not read. */
    EventOutbox.DestinationNow now;
    long readAt;
    boolean read;

    /** Whether the last read began after {@code nanos} (a claim's): it is the latest known of the destination. */
    boolean readSince(long nanos) {
      return read && readAt - nanos > 0;
    }
  }

  public EventPublisherVerticle(MailgateConfig config, SecretBox secrets, Clock clock) {
    this.config = config;
    this.secrets = secrets;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    concurrency = Math.max(1, config.get(MailgateConfig.EVENTS_CONCURRENCY));
    perDestination = Math.max(1, concurrency / 2);
    holdPerDestination = 4 * perDestination;
    timeoutMillis = Math.max(1, config.get(MailgateConfig.EVENTS_TIMEOUT_SECONDS)) * 1000;
    leaseSeconds = timeoutMillis / 1000 + 60; // every post ends within the timeout: the rest is room to spare
    maxAge = Duration.ofHours(Math.max(1, config.get(MailgateConfig.EVENTS_MAX_AGE_HOURS)));
    firstBackoff = Duration.ofSeconds(Math.max(1, config.get(MailgateConfig.EVENTS_RETRY_BASE_SECONDS)));
    allowPrivate = config.get(MailgateConfig.EVENTS_ALLOW_PRIVATE_ADDRESSES);
    hostTtlMillis = hostTtlMillis(java.security.Security.getProperty("networkaddress.cache.ttl"),
        System.getProperty("sun.net.inetaddr.ttl"));
    metrics = Metrics.of(vertx);
    signer = new WebhookSigner(secrets).macs(SIGNING_KEYS_KEPT);
    db = Database.pool(vertx, config, 2);
    outbox = new EventOutbox(db, config.get(MailgateConfig.REGION));
    receipts = new ReceiptOutbox(db);
    // host names are resolved by the system resolver, which blocks: on threads of their own, not the shared pool
    resolver = vertx.createSharedWorkerExecutor("mailgate-webhook-resolver", RESOLVER_THREADS, timeoutMillis,
        TimeUnit.MILLISECONDS);
    http = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(timeoutMillis).setIdleTimeout(60)
            .setKeepAlive(true).setVerifyHost(true).setMaxInitialLineLength(8192).setMaxHeaderSize(16384),
        // per host and port: destinations on one host share it, each within its own share of the posts
        new PoolOptions().setHttp1MaxSize(concurrency).setMaxWaitQueueSize(-1));
    timer = vertx.setPeriodic(Math.max(10, config.get(MailgateConfig.EVENTS_POLL_MILLIS)), t -> {
      pausedUrlChanged();
      poll();
      pollReceipts();
    });
    sweepTimer = vertx.setPeriodic(SWEEP_MILLIS, t -> outbox.sweep().onComplete(ar -> {
      if (ar.failed()) {
        LOG.warning("cannot sweep the event outbox: " + ar.cause().getMessage());
      } else if (ar.result() > 0) {
        LOG.info("dropped " + ar.result() + " events of deleted event destinations");
      }
      dropOld("events", outbox::dropOlderThan, metrics::eventsDropped, 0);
      dropOld("receipt notifications", receipts::dropOlderThan, n -> { }, 0);
    }));
    return Future.succeededFuture();
  }

  /**
   * Stops claiming; posts under way get up to their timeout to finish and published events are deleted (what is
   * unfinished goes again once its lease ends).
   */
  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(timer);
    vertx.cancelTimer(sweepTimer);
    List<EventOutbox.Due> held = new ArrayList<>();
    pending.forEach(p -> held.add(p.due()));
    pending.clear();
    destinations.values().forEach(d -> d.held = 0);
    // due again at once, for the nodes that go on
    Future<Void> released = held.isEmpty() ? Future.succeededFuture() : outbox.release(held, clock.instant());
    Promise<Void> idle = Promise.promise();
    long deadline = System.currentTimeMillis() + timeoutMillis + 2000L;
    vertx.setPeriodic(1, 50, t -> {
      if ((inFlight == 0 && !claiming && !removing && receiptsInFlight == 0 && !claimingReceipts)
          || System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(t);
        idle.complete();
      }
    });
    return idle.future().compose(v -> removePublished()).eventually(() -> released).eventually(() -> http.close())
        .eventually(() -> resolver.close()).eventually(() -> db.close());
  }

  /**
   * A claimed event waiting for its destination to take another post, with its mail object. {@code claimedAt}: the
   * {@link System#nanoTime} before its claim was sent, so at or before the lease began in the database, however long
   * the claim and the read of its messages took.
   */
  private record Pending(EventOutbox.Due due, JsonObject mail, long claimedAt) {}

  /**
   * Claims due events when fewer than {@code 2 x events.concurrency} of those in hand could be posted now (their
   * destination has fewer posts under way than its share, and is not holding four times its share): up to eight times
   * the concurrency at once, so that one claim (and one read of their messages) feeds many posts, and at most four
   * times a destination's share of each, none of a destination that holds that many. A slow destination's backlog
   * thus stays in the table, and the other destinations' events are claimed past it: the events in hand of
   * destinations whose posts are all taken do not count as work in hand.
   */
  private void poll() {
    if (claiming || stopping || pending.size() >= 16 * concurrency) {
      return;
    }
    List<Long> full = new ArrayList<>();
    int postable = 0;
    int share = share();
    long now = clock.millis();
    for (Map.Entry<Long, Destination> e : destinations.entrySet()) {
      Destination d = e.getValue();
      if (d.held >= holdPerDestination || resting(d, now)) {
        // full, or failing and paused or trying its one post: its backlog waits in the table, not rewritten (claimed
        // only to be put off again, at once, for as long as a hanging trial post lasts), not claimed
        full.add(e.getKey());
      } else if (d.inFlight < share) {
        postable += d.held;
      }
    }
    if (postable >= 2 * concurrency) {
      return;
    }
    int room = 8 * concurrency;
    claiming = true;
    long claimedAt = System.nanoTime();
    outbox.claim(room, holdPerDestination, full, leaseSeconds).onComplete(claimed -> {
      if (claimed.failed()) {
        claiming = false;
        LOG.warning("cannot read the event outbox: " + claimed.cause().getMessage());
        return;
      }
      List<EventOutbox.Due> due = claimed.result();
      backlog = due.size() == room; // a full claim: more may be due
      Map<Long, Integer> taken = new HashMap<>();
      due.forEach(d -> taken.merge(d.destinationId(), 1, Integer::sum));
      for (Map.Entry<Long, Destination> e : destinations.entrySet()) {
        if (!full.contains(e.getKey())) {
          e.getValue().more = taken.getOrDefault(e.getKey(), 0) >= holdPerDestination;
        }
      }
      taken.forEach((id, n) -> destinations.computeIfAbsent(id, k -> new Destination()).more =
          n >= holdPerDestination);
      if (due.isEmpty()) {
        claiming = false;
        return;
      }
      outbox.mails(new ArrayList<>(messageIds(due))).onComplete(mails -> {
        claiming = false;
        if (stopping) {
          release(due, clock.instant());
          return;
        }
        if (mails.failed()) {
          for (EventOutbox.Due d : due) {
            failed(d, "cannot read the message: " + mails.cause().getMessage());
          }
          return;
        }
        Map<String, JsonObject> eventMails = new HashMap<>(); // one message's events share its mail object
        for (EventOutbox.Due claimedDue : due) {
          Destination dest = destinations.computeIfAbsent(claimedDue.destinationId(), k -> new Destination());
          // a read of the destination since the claim began knows it better than the claim
          EventOutbox.Due d = following(claimedDue, dest, claimedAt);
          SesEvents.MailFacts facts = mails.result().get(claimedDue.messageId());
          if (d == null || facts == null) {
            // the destination was disabled, or the message deleted (retention): nobody wants it any more
            drop(claimedDue);
            continue;
          }
          JsonObject mail;
          try {
            mail = d.identity() != null
                ? SesEvents.notificationMail(facts, d.identity(), d.withHeaders(), d.accountId())
                : eventMails.computeIfAbsent(d.messageId(), id -> SesEvents.mail(facts));
          } catch (RuntimeException e) {
            failed(d, "cannot render the message's mail object: " + e);
            continue;
          }
          dest.held++;
          pending.add(new Pending(d, mail, claimedAt));
        }
        dispatch();
      });
    });
  }

  /**
   * Claims due receipt notifications (what receipt rules' SNS actions and topics are owed) while fewer than half the
   * node's posts are theirs, so events keep the other half; a webhook has at most a quarter of those at a time, so
   * one that is slow or hangs does not hold up the others' (its rows wait in the table meanwhile). One that failed
   * {@link #TRIP_AFTER} times in a row rests as an event destination does: its rows are left in the table while it
   * is paused (10 s per failure in a row), then it gets one post at a time until one succeeds; otherwise a few dead
   * webhooks, each row retried on its own backoff, would keep a hanging post in every slot all day.
   */
  private void pollReceipts() {
    int room = perDestination - receiptsInFlight;
    if (claimingReceipts || stopping || room <= 0) {
      return;
    }
    int perUrl = Math.max(1, perDestination / 4);
    long now = clock.millis();
    if (receiptUrls.size() > PRUNE_ABOVE) {
      receiptUrls.values().removeIf(w -> w.inFlight == 0 && w.putOffUntil < now - 3_600_000L);
    }
    List<String> busy = new ArrayList<>();
    receiptUrls.forEach((url, w) -> {
      if (w.inFlight >= perUrl || resting(w, now)) {
        busy.add(url);
      }
    });
    claimingReceipts = true;
    receipts.claim(room, leaseSeconds, busy).onComplete(ar -> {
      claimingReceipts = false;
      if (ar.failed()) {
        LOG.warning("cannot read the receipt notification outbox: " + ar.cause().getMessage());
        return;
      }
      boolean more = ar.result().size() == room;
      List<ReceiptOutbox.Due> over = new ArrayList<>();
      long claimedAt = clock.millis();
      for (ReceiptOutbox.Due d : ar.result()) {
        Destination w = receiptUrls.computeIfAbsent(d.url(), k -> new Destination());
        if (stopping || w.inFlight >= (w.failures >= TRIP_AFTER ? 1 : perUrl) || resting(w, claimedAt)) {
          over.add(d);
          continue;
        }
        receiptsInFlight++;
        w.inFlight++;
        long seq = ++w.begun;
        post(Target.of(d), "rcv_" + d.id() + "_" + d.messageId(), Buffer.buffer(d.body())).onComplete(posted -> {
          receiptsInFlight--;
          w.inFlight--;
          if (posted.succeeded()) {
            w.failures = 0;
            metrics.receiptNotified();
            receipts.remove(List.of(d.id())).onFailure(e -> LOG.warning("cannot delete receipt notification "
                + d.id() + " (it will be posted again when its lease ends): " + e.getMessage()));
          } else if (posted.cause() instanceof LookupsBusy) {
            // the node's own limit, not the webhook's failure: due again in a moment, not an attempt
            receipts.release(List.of(d), LOOKUP_WAIT_MILLIS).onFailure(e -> LOG.warning("cannot put back "
                + "receipt notification " + d.id() + " (it is due again when its lease ends): " + e.getMessage()));
          } else {
            postFailed(w, seq, d.url());
            receiptFailed(d, posted.cause().getMessage() == null ? posted.cause().toString()
                : posted.cause().getMessage());
          }
          if (w.inFlight == 0 && w.failures == 0) {
            receiptUrls.remove(d.url(), w); // known again at its next claim; a failing one is kept for its pause
          }
          if (receiptsBacklog && !stopping) {
            pollReceipts();
          }
        });
      }
      if (!over.isEmpty()) {
        receipts.release(over).onFailure(e -> LOG.warning("cannot put back " + over.size() + " receipt notifications "
            + "(they are due again when their lease ends): " + e.getMessage()));
      }
      receiptsBacklog = more && over.isEmpty();
    });
  }

  private void receiptFailed(ReceiptOutbox.Due d, String why) {
    Instant next = clock.instant().plus(backoff(firstBackoff, d.attempts()));
    if (next.isAfter(d.createdAt().plus(maxAge))) {
      LOG.warning("receipt notification of message " + d.messageId() + " dropped after " + d.attempts()
          + " attempts to " + redacted(d.url()) + ": " + why);
      receipts.remove(List.of(d.id())).onFailure(e -> LOG.warning("cannot drop receipt notification " + d.id()
          + ": " + e.getMessage()));
    } else {
      receipts.retry(d, next, why).onFailure(e -> LOG.warning("cannot reschedule receipt notification "
          + d.id() + " (it is due again when its lease ends): " + e.getMessage()));
    }
  }

  private static LinkedHashSet<String> messageIds(List<EventOutbox.Due> due) {
    LinkedHashSet<String> ids = new LinkedHashSet<>();
    for (EventOutbox.Due d : due) {
      ids.add(d.messageId());
    }
    return ids;
  }

  /**
   * Posts the events in hand whose destination may take one now, while the node has posts to spare; puts off those
   * of a failing destination; leaves the others for later. One held so long that its lease is about to end is let go
   * (it is claimed again, by this node or another).
   */
  private void dispatch() {
    if (dispatching) {
      dispatchAgain = true; // a post that failed at once calls back in here: the loop below goes round again
      return;
    }
    dispatching = true;
    try {
      do {
        dispatchAgain = false;
        dispatchOnce();
      } while (dispatchAgain);
    } finally {
      dispatching = false;
    }
    if (backlog || moreToClaim()) {
      poll(); // otherwise the timer's next round will
    }
  }

  /** Whether a destination that may have more due events has room for them. */
  private boolean moreToClaim() {
    for (Destination d : destinations.values()) {
      if (d.more && d.held < holdPerDestination) {
        return true;
      }
    }
    return false;
  }

  private void dispatchOnce() {
    long now = clock.millis();
    if (destinations.size() > PRUNE_ABOVE) {
      // before choosing: what is chosen below stays in the map until its post ends
      destinations.values().removeIf(x -> x.inFlight == 0 && x.held == 0
          && (x.failures == 0 || x.putOffUntil < now - 3_600_000L));
    }
    int share = share();
    long nanos = System.nanoTime();
    // from before the claim: a post chosen now ends (timeout) 5 s before the lease the claim took, however long the
    // claim took to come back
    long stale = ((leaseSeconds * 1000L) - timeoutMillis - 5000L) * 1_000_000L;
    boolean unread = false;
    Map<Long, List<EventOutbox.Due>> putOff = new HashMap<>();
    List<EventOutbox.Due> letGo = new ArrayList<>();
    List<Long> tooOld = new ArrayList<>();
    List<Pending> post = new ArrayList<>();
    int slots = concurrency - inFlight;
    for (Iterator<Pending> it = pending.iterator(); it.hasNext() && post.size() < slots; ) {
      Pending p = it.next();
      EventOutbox.Due d = p.due();
      Destination dest = destinations.computeIfAbsent(d.destinationId(), k -> new Destination());
      if (nanos - p.claimedAt() > stale) {
        it.remove();
        dest.held--;
        letGo.add(d);
      } else if (d.createdAt().plus(maxAge).toEpochMilli() < now) {
        it.remove();
        dest.held--;
        tooOld.add(d.id()); // not posted: dropped, counted in one line
      } else if (dest.failures >= TRIP_AFTER
          && (dest.putOffUntil > now || dest.inFlight + countIn(post, d.destinationId()) > 0)) {
        // a failing webhook gets one post at a time once its pause is over (those chosen in this pass count too)
        it.remove();
        dest.held--;
        putOff.computeIfAbsent(d.destinationId(), k -> new ArrayList<>()).add(d);
      } else if (dest.inFlight + countIn(post, d.destinationId()) < share) {
        if (outdated(p, dest, nanos)) {
          unread = true; // left in hand until the destinations it is held for are read again
          continue;
        }
        it.remove();
        dest.held--;
        post.add(p);
      }
    }
    putOff.forEach((id, ids) -> {
      Destination dest = destinations.get(id);
      outbox.putOff(id, ids, Instant.ofEpochMilli(Math.max(dest.putOffUntil, now + 1000)))
          .onFailure(e -> LOG.warning("cannot put off the events of a failing webhook: " + e.getMessage()));
    });
    if (!letGo.isEmpty()) {
      release(letGo, clock.instant()); // held too long: due again at once rather than when the lease ends
    }
    if (!tooOld.isEmpty()) {
      metrics.eventsDropped(tooOld.size());
      outbox.remove(tooOld).onComplete(ar -> LOG.warning(ar.succeeded()
          ? "dropped " + tooOld.size() + " events older than events.maxAgeHours that their webhooks never took"
          : "cannot drop " + tooOld.size() + " events older than events.maxAgeHours: " + ar.cause().getMessage()));
    }
    for (Pending p : post) {
      publish(p.due(), destinations.computeIfAbsent(p.due().destinationId(), k -> new Destination()), p.mail());
    }
    if (unread && !readingDestinations) {
      readDestinations();
    }
  }

  /**
   * Whether what the node knows of {@code p}'s destination (read at its claim, or read again since) is over
   * {@link #CHECKED_NANOS} old: it is read again before {@code p} is posted. Not while a failed read waits to be tried
   * again: the events go as they were read rather than not at all.
   */
  private boolean outdated(Pending p, Destination dest, long nanos) {
    long known = dest.readSince(p.claimedAt()) ? dest.readAt : p.claimedAt();
    return nanos - known > CHECKED_NANOS && nanos - readAgainAfter >= 0;
  }

  /**
   * Reads again every destination the node holds events for (one query), drops the events of those since deleted,
   * disabled or no longer taking their type, sends those of a changed URL to the new one, and dispatches again.
   */
  private void readDestinations() {
    List<Long> ids = new ArrayList<>();
    destinations.forEach((id, d) -> {
      if (d.held > 0) {
        ids.add(id);
      }
    });
    if (ids.isEmpty()) {
      return;
    }
    readingDestinations = true;
    long readAt = System.nanoTime();
    outbox.destinations(ids).onComplete(ar -> {
      readingDestinations = false;
      if (ar.failed()) {
        readAgainAfter = System.nanoTime() + CHECKED_NANOS;
        LOG.warning("cannot read the event destinations again (their events go as they were claimed): "
            + ar.cause().getMessage());
      } else {
        followDestinations(ids, ar.result(), readAt);
      }
      if (!stopping) {
        dispatch();
      }
    });
  }

  private void followDestinations(List<Long> ids, Map<Long, EventOutbox.DestinationNow> read, long readAt) {
    for (Long id : ids) {
      Destination dest = destinations.get(id);
      if (dest != null) {
        dest.now = read.get(id);
        dest.readAt = readAt;
        dest.read = true;
      }
    }
    ArrayDeque<Pending> kept = new ArrayDeque<>(pending.size());
    List<Long> dropped = new ArrayList<>();
    for (Pending p : pending) {
      Destination dest = destinations.get(p.due().destinationId());
      EventOutbox.Due d = dest == null ? p.due() : following(p.due(), dest, p.claimedAt());
      if (d == null) {
        dest.held--;
        dropped.add(p.due().id());
      } else {
        kept.add(d == p.due() ? p : new Pending(d, p.mail(), p.claimedAt()));
      }
    }
    pending.clear();
    pending.addAll(kept);
    if (!dropped.isEmpty()) {
      metrics.eventsDropped(dropped.size());
      // a deleted or disabled destination's rows went with it: what is left are those of a type it no longer takes
      outbox.remove(dropped).onFailure(e -> LOG.warning("cannot drop " + dropped.size() + " events their destination "
          + "no longer takes: " + e.getMessage()));
    }
  }

  /**
   * {@code d} as its destination now has it: null when the destination was deleted, disabled or no longer takes its
   * type (according to the last read, when it began after {@code claimedAt}; to the claim otherwise), to the URL last
   * read.
   */
  private static EventOutbox.Due following(EventOutbox.Due d, Destination dest, long claimedAt) {
    if (!dest.readSince(claimedAt)) {
      return d.enabled() ? d : null;
    }
    if (dest.now == null || !dest.now.takes(d.type())) {
      return null;
    }
    return dest.now.url().equals(d.url()) ? d : d.withUrl(dest.now.url());
  }

  /**
   * How many posts a destination may have under way: an equal part of the node's posts among the destinations with
   * events in hand or posts under way, at most half of them. Two slow webhooks (answering 2xx, so never put off) thus
   * cannot take every post between them: as their posts end, the others' events take the slots.
   */
  private int share() {
    int active = 0;
    for (Destination d : destinations.values()) {
      if (d.held > 0 || d.inFlight > 0) {
        active++;
      }
    }
    return Math.max(1, Math.min(perDestination, concurrency / Math.max(1, active)));
  }

  private static int countIn(List<Pending> list, long destinationId) {
    int n = 0;
    for (Pending p : list) {
      if (p.due().destinationId() == destinationId) {
        n++;
      }
    }
    return n;
  }

  private void release(List<EventOutbox.Due> due, Instant at) {
    outbox.release(due, at).onFailure(e -> LOG.warning("cannot put back " + due.size() + " events (they are due again "
        + "when their lease ends): " + e.getMessage()));
  }

  private void publish(EventOutbox.Due d, Destination dest, JsonObject mail) {
    Buffer body;
    try {
      EventType type = EventType.fromSesName(d.type());
      body = (d.identity() != null ? SesEvents.notification(type, mail, d.detail())
          : SesEvents.event(type, mail, d.detail())).toBuffer();
    } catch (RuntimeException e) {
      failed(d, "cannot render the event: " + e);
      return;
    }
    inFlight++;
    dest.inFlight++;
    long seq = ++dest.begun;
    boolean[] begun = {false};
    // the outbox row's id, and the message's, which no other database has (a row id alone comes back in every new
    // database: a receiver that drops repeats by id would drop a new installation's events)
    post(Target.of(d), "evt_" + d.id() + "_" + d.messageId(), body).onComplete(ar -> {
      if (!begun[0]) {
        // failed before it began (a lookup refused at once): counted once the dispatch that began it is done, with
        // the destination's other posts of that dispatch, as posts failing together are one failure, not one each
        vertx.runOnContext(v -> posted(d, dest, seq, ar));
      } else {
        posted(d, dest, seq, ar);
      }
    });
    begun[0] = true;
  }

  private void posted(EventOutbox.Due d, Destination dest, long seq, io.vertx.core.AsyncResult<Void> ar) {
    inFlight--;
    dest.inFlight--;
    if (ar.succeeded()) {
      dest.failures = 0;
      dest.pausedUrl = null;
      metrics.event(true, false);
      published.add(d.id());
      removePublished();
    } else if (ar.cause() instanceof LookupsBusy) {
      // the node's own limit, not the webhook's failure: due again in a moment, not an attempt
      release(List.of(d), clock.instant().plusMillis(LOOKUP_WAIT_MILLIS));
    } else {
      postFailed(dest, seq, d.url());
      failed(d, ar.cause().getMessage() == null ? ar.cause().toString() : ar.cause().getMessage());
    }
    if (!stopping) {
      dispatch();
    }
  }

  /** How long an event or receipt notification waits when its lookup cannot start (all under way). */
  static final long LOOKUP_WAIT_MILLIS = 1_000;

  /** An account's lookups are all under way: the post is not made (not the webhook's failure, nor an attempt). */
  static final class LookupsBusy extends RuntimeException {
    LookupsBusy(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Counts the failure of post {@code seq} of {@code dest}, and pauses it from the {@link #TRIP_AFTER}th in a row (10 s
   * per failure, up to 10 minutes). Posts under way together that fail together (a receiver restarting, a name still
   * being looked up) are one failure, not one each, or a blip of a second would pause the webhook for minutes: a post
   * begun after the last one counted is the next in the row.
   */
  private void postFailed(Destination dest, long seq, String url) {
    boolean counted = seq > dest.countedThrough;
    if (counted) {
      dest.failures++;
      dest.countedThrough = dest.begun;
    }
    if (dest.failures >= TRIP_AFTER) {
      long pause = Math.min(600_000L, 10_000L * dest.failures);
      dest.putOffUntil = clock.millis() + pause;
      dest.pausedUrl = url;
      if (counted) {
        metrics.webhookPaused(pause / 1000);
        LOG.info("webhook " + redacted(url) + " paused for " + pause / 1000 + " s after " + dest.failures
            + " failures in a row");
      }
    }
  }

  /**
   * Reads again, at most once a second, the event destinations paused after failing, and lifts the pause of those
   * whose URL was changed since: a pause is up to ten minutes, and changing a failing webhook's URL is how its owner
   * mends it (their events would wait out a pause earned by the old URL). The events this node put off for the pause
   * are made due at once ({@link EventOutbox#bringForward}), as the rest of the backlog is (each node that paused the
   * destination reads it so, and brings forward what it put off).
   */
  private void pausedUrlChanged() {
    if (checkingPauses || stopping) {
      return;
    }
    long nanos = System.nanoTime();
    long now = clock.millis();
    List<Long> ids = new ArrayList<>();
    destinations.forEach((id, d) -> {
      if (d.pausedUrl != null && d.putOffUntil > now && nanos - d.pauseCheckedAt > CHECKED_NANOS) {
        ids.add(id);
      }
    });
    if (ids.isEmpty()) {
      return;
    }
    checkingPauses = true;
    outbox.destinations(ids).onComplete(ar -> {
      checkingPauses = false;
      long readAt = System.nanoTime();
      long readAtMillis = clock.millis();
      for (Long id : ids) {
        Destination d = destinations.get(id);
        if (d == null || d.pausedUrl == null) {
          continue;
        }
        d.pauseCheckedAt = readAt; // a failed read is tried again a second later, as a successful one
        EventOutbox.DestinationNow current = ar.succeeded() ? ar.result().get(id) : null;
        if (current != null && !current.url().equals(d.pausedUrl)) {
          LOG.info("webhook " + redacted(d.pausedUrl) + " was paused after " + d.failures + " failures in a row; "
              + "its destination now posts to " + redacted(current.url()) + ": the pause is lifted");
          long putOffTo = d.putOffUntil;
          d.failures = 0;
          d.putOffUntil = 0;
          d.pausedUrl = null;
          d.countedThrough = d.begun; // a post to the old URL still under way does not count against the new one
          if (putOffTo > readAtMillis) { // the events this node put off for the pause are due now too
            outbox.bringForward(id, Instant.ofEpochMilli(putOffTo)).onFailure(e -> LOG.warning(
                "cannot bring forward the events put off for webhook " + redacted(current.url()) + ": "
                    + e.getMessage()));
          }
        }
      }
      if (ar.failed()) {
        LOG.warning("cannot read the paused event destinations: " + ar.cause().getMessage());
      }
    });
  }

  /** Whether a webhook that failed {@link #TRIP_AFTER} times in a row is paused, or trying its one post. */
  private static boolean resting(Destination d, long now) {
    return d.failures >= TRIP_AFTER && (d.putOffUntil > now || d.inFlight > 0);
  }

  private void drop(EventOutbox.Due d) {
    metrics.event(false, true);
    outbox.remove(List.of(d.id())).onFailure(e -> LOG.warning("cannot drop event " + d.id() + ": " + e.getMessage()));
  }

  /**
   * Deletes the published events, one statement at a time: those published while one runs go together in the next.
   */
  private Future<Void> removePublished() {
    if (published.isEmpty() || removing) {
      return Future.succeededFuture();
    }
    List<Long> batch = new ArrayList<>(published);
    published.clear();
    removing = true;
    return outbox.remove(batch)
        .onFailure(e -> LOG.warning("cannot delete " + batch.size() + " published events (they will be posted again "
            + "when their lease ends): " + e.getMessage()))
        .eventually(() -> {
          removing = false;
          return removePublished();
        });
  }

  /**
   * Drops, a batch at a time, the due {@code what} (events, receipt notifications) older than events.maxAgeHours:
   * counted in the log, not one by one.
   */
  private void dropOld(String what, java.util.function.BiFunction<Instant, Integer, Future<Integer>> drop,
      java.util.function.IntConsumer counted, int droppedSoFar) {
    drop.apply(clock.instant().minus(maxAge), SWEEP_BATCH).onComplete(ar -> {
      if (ar.failed()) {
        LOG.warning("cannot drop old " + what + " from their outbox: " + ar.cause().getMessage());
      } else if (ar.result() == SWEEP_BATCH && droppedSoFar < 100 * SWEEP_BATCH) {
        counted.accept(ar.result());
        dropOld(what, drop, counted, droppedSoFar + ar.result());
      } else if (droppedSoFar + ar.result() > 0) {
        counted.accept(ar.result());
        LOG.warning("dropped " + (droppedSoFar + ar.result()) + " " + what + " older than events.maxAgeHours ("
            + maxAge.toHours() + " h) that their webhooks never took");
      }
    });
  }

  private void failed(EventOutbox.Due d, String why) {
    Instant now = clock.instant();
    Instant next = now.plus(backoff(firstBackoff, d.attempts()));
    if (next.isAfter(d.createdAt().plus(maxAge))) {
      LOG.warning(d.type() + " event of message " + d.messageId() + " dropped after " + d.attempts() + " attempts to "
          + redacted(d.url()) + ": " + why);
      drop(d);
    } else {
      metrics.event(false, false);
      outbox.retry(d, next, why).onFailure(e -> LOG.warning("cannot reschedule event " + d.id()
          + " (it is due again when its lease ends): " + e.getMessage()));
    }
  }

  /**
   * {@code first}, three times that, nine times ... up to an hour, each with up to a fifth more or less, so failed
   * events do not move in step.
   */
  static Duration backoff(Duration first, int attempts) {
    double seconds = first.toSeconds() * Math.pow(3, Math.min(20, Math.max(0, attempts - 1)));
    seconds = Math.min(seconds, MAX_BACKOFF.toSeconds());
    return Duration.ofMillis((long) (seconds * 1000 * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble())));
  }

  /**
   * The {@code webhook-signature} header: under the account's secret and under the destination's own, and while the
   * account's is being rotated under the previous generation's two too (receivers still configured with one of
   * those verify it).
   */
  private String signature(Target t, String id, long timestamp, byte[] body) {
    String current = signatures(t, t.secretGeneration(), id, timestamp, body);
    if (t.secretGeneration() > 0 && t.previousSecretUntil() != null
        && clock.instant().isBefore(t.previousSecretUntil())) {
      return current + " " + signatures(t, t.secretGeneration() - 1, id, timestamp, body);
    }
    return current;
  }

  private String signatures(Target t, int generation, String id, long timestamp, byte[] body) {
    return signer.signature(t.accountId(), generation, id, timestamp, body) + " "
        + signer.signature(t.accountId(), generation, t.url(), id, timestamp, body);
  }

  /** Where a post goes and whose secret signs it. */
  private record Target(String url, String accountId, int secretGeneration, Instant previousSecretUntil) {
    static Target of(EventOutbox.Due d) {
      return new Target(d.url(), d.accountId(), d.secretGeneration(), d.previousSecretUntil());
    }

    static Target of(ReceiptOutbox.Due d) {
      return new Target(d.url(), d.accountId(), d.secretGeneration(), d.previousSecretUntil());
    }
  }

  /**
   * Posts one event or notification as {@code webhook-id} {@code id}; fails unless a 2xx answer came within the
   * timeout (counted from the start, resolving too).
   */
  private Future<Void> post(Target target, String id, Buffer body) {
    URI uri;
    try {
      uri = new URI(target.url());
    } catch (java.net.URISyntaxException e) {
      return Future.failedFuture("not a URL: " + e.getMessage());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
    boolean sns = scheme.startsWith("sns+");
    boolean https = scheme.endsWith("https");
    String region = config.get(MailgateConfig.REGION);
    // what SNS would post: the event (or notification) as the Message of a notification, signed as every post is
    Buffer posted = sns ? SnsEnvelope.of(id, region, target.accountId(), body, clock.instant()) : body;
    String host = uri.getHost();
    int port = uri.getPort() >= 0 ? uri.getPort() : https ? 443 : 80;
    String path = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
        + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    long timestamp = clock.instant().getEpochSecond();
    String signature = signature(target, id, timestamp, posted.getBytes());
    Promise<Void> result = Promise.promise();
    HttpClientRequest[] sent = new HttpClientRequest[1];
    // the whole exchange, the answer's body too: one that trickles in after its 2xx loses its connection
    long deadline = vertx.setTimer(timeoutMillis, t -> {
      result.tryFail("no answer within " + timeoutMillis / 1000 + " s");
      if (sent[0] != null) {
        sent[0].reset();
      }
    });
    resolve(host, target.accountId()).compose(address -> http.request(new RequestOptions()
            .setMethod(HttpMethod.POST)
            .setServer(SocketAddress.inetSocketAddress(port, address.getHostAddress()))
            .setHost(host)
            .setPort(port)
            .setSsl(https)
            .setURI(path)
            .setFollowRedirects(false)))
        .compose(request -> {
          sent[0] = request;
          if (result.future().isComplete()) {
            request.reset();
            return Future.failedFuture("timed out");
          }
          request.headers()
              .set("content-type", sns ? "text/plain; charset=UTF-8" : "application/json")
              .set("user-agent", "Mailgate-Events/1")
              .set("webhook-id", id)
              .set("webhook-timestamp", Long.toString(timestamp))
              .set("webhook-signature", signature);
          if (sns) {
            SnsEnvelope.headers(request.headers(), id, region, target.accountId());
          }
          return request.send(posted);
        })
        .compose(response -> {
          // the status decides; the body is read (to keep the connection) but not waited for, and not beyond 64 KB
          settle(result, response.statusCode(), response.statusMessage());
          long[] read = {0};
          response.handler(chunk -> {
            read[0] += chunk.length();
            if (read[0] > MAX_ANSWER_BYTES) {
              sent[0].reset();
            }
          });
          return response.end();
        })
        .onComplete(ar -> {
          vertx.cancelTimer(deadline);
          if (ar.failed()) {
            result.tryFail(ar.cause());
          }
        });
    return result.future();
  }

  private static void settle(Promise<Void> result, int status, String message) {
    if (status / 100 == 2) {
      result.tryComplete();
    } else {
      result.tryFail("HTTP " + status + " " + message);
    }
  }

  /**
   * The address to connect to: the host's first, once every address it has is one the node may reach. The system
   * resolver blocks (a dead name server holds a thread for its whole timeout), so an account has at most
   * {@link #LOOKUPS_PER_ACCOUNT} lookups of its own under way: one whose DNS is down cannot take every thread, and
   * its posts past that are put back for a moment ({@link LookupsBusy}), neither an attempt nor a webhook failure; so
   * are posts needing a lookup while every thread is taken (several accounts' DNS down), rather than queued.
   */
  private Future<InetAddress> resolve(String host, String accountId) {
    if (host == null) {
      return Future.failedFuture("the URL has no host");
    }
    InetAddress literal = NetAddresses.literal(host);
    Future<InetAddress[]> addresses;
    Resolved known = literal == null ? resolved.get(host) : null;
    if (literal != null) {
      addresses = Future.succeededFuture(new InetAddress[] {literal});
    } else if (known != null && System.nanoTime() - known.untilNanos() < 0) {
      addresses = Future.succeededFuture(known.addresses());
    } else {
      addresses = resolving.get(host);
      if (addresses == null) {
        if (lookupsByAccount.getOrDefault(accountId, 0) >= LOOKUPS_PER_ACCOUNT) {
          return Future.failedFuture(new LookupsBusy("cannot resolve " + host + ": the account's other webhook "
              + "host names are still being resolved"));
        }
        if (lookupsUnderWay >= RESOLVER_THREADS) {
          // it would wait in the queue for a thread, its post's deadline running: other accounts' lookups are not
          // this webhook's failure
          return Future.failedFuture(new LookupsBusy("cannot resolve " + host + ": every resolver thread is "
              + "resolving other webhook host names"));
        }
        lookupsByAccount.merge(accountId, 1, Integer::sum);
        lookupsUnderWay++;
        metrics.webhookHostLookup();
        HostLookup lookup = hostLookup;
        addresses = resolver.executeBlocking(() -> lookup.addresses(host), false);
        resolving.put(host, addresses);
        addresses.onComplete(ar -> {
          lookupsUnderWay--;
          resolving.remove(host);
          lookupsByAccount.computeIfPresent(accountId, (a, n) -> n > 1 ? n - 1 : null);
          if (ar.succeeded() && hostTtlMillis > 0) {
            resolved.put(host, new Resolved(ar.result(), System.nanoTime() + hostTtlMillis * 1_000_000L));
          } else {
            resolved.remove(host);
          }
        });
      }
    }
    return addresses.compose(all -> {
      if (!allowPrivate) {
        for (InetAddress a : all) {
          if (!NetAddresses.isPublic(a)) {
            return Future.failedFuture(host + " is at " + a.getHostAddress() + ", a private address: refused "
                + "(events.allowPrivateAddresses)");
          }
        }
      }
      return Future.succeededFuture(all[0]);
    }, e -> Future.failedFuture("cannot resolve " + host + ": " + e.getMessage()));
  }

  /**
   * How long a looked-up host name's addresses are used, in milliseconds: as long as the JVM's own cache keeps a
   * lookup, read as the JVM reads it (the {@code networkaddress.cache.ttl} security property, else the
   * {@code sun.net.inetaddr.ttl} system property, in seconds; 30 when neither is set; 0: not kept). Below 0 (the JVM
   * keeps lookups for ever) is taken as an hour, the longest kept here: the JVM then answers the same addresses
   * anyway, and the node does not hold a name it no longer posts to for ever.
   */
  static long hostTtlMillis(String securityProperty, String systemProperty) {
    Long seconds = seconds(securityProperty);
    if (seconds == null) {
      seconds = seconds(systemProperty); // as the JVM: the system property when the security one is unset or unreadable
    }
    if (seconds == null) {
      seconds = 30L;
    }
    return seconds < 0 ? 3_600_000L : Math.min(seconds, 3_600L) * 1000L;
  }

  private static Long seconds(String setting) {
    try {
      return setting == null ? null : Long.valueOf(setting.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** The URL without its query, which may hold a token. */
  static String redacted(String url) {
    int q = url.indexOf('?');
    return q < 0 ? url : url.substring(0, q) + "?...";
  }
}
