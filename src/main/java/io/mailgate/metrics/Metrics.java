package io.mailgate.metrics;

import io.mailgate.delivery.Disposition;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Shareable;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A node's counters, in Prometheus's text exposition format ({@code GET /_mailgate/metrics}). One instance per node
 * (per Vert.x instance), shared by its verticles; counting is a {@link LongAdder} increment, nothing more, so the send
 * path pays nothing measurable. Counters are the node's own since it started, as Prometheus expects; gauges (queue,
 * connections, memory) are read when scraped. No label names an account: the endpoint shows volume, not tenants.
 */
public final class Metrics implements Shareable {
  private final LongAdder accepted = new LongAdder();
  private final LongAdder acceptedRecipients = new LongAdder();
  private final Map<String, LongAdder> refused = new ConcurrentHashMap<>();
  private final EnumMap<Disposition, LongAdder> outcomes = new EnumMap<>(Disposition.class);
  private final LongAdder feedbackAttributed = new LongAdder();
  private final LongAdder feedbackUnattributed = new LongAdder();
  private final LongAdder feedbackNotKept = new LongAdder();
  private final LongAdder eventsPublished = new LongAdder();
  private final LongAdder trackedOpens = new LongAdder();
  private final LongAdder trackedClicks = new LongAdder();
  private final LongAdder trackingInvalid = new LongAdder();
  private final LongAdder trackingUnrecorded = new LongAdder();
  private final LongAdder eventsFailed = new LongAdder();
  private final LongAdder eventsDropped = new LongAdder();
  private final LongAdder webhookHostLookups = new LongAdder();
  private final LongAdder webhookPauses = new LongAdder();
  private final LongAdder webhookPausedSeconds = new LongAdder();
  private final LongAdder receivedStored = new LongAdder();
  private final LongAdder receivedBounced = new LongAdder();
  private final LongAdder receivedRefused = new LongAdder();
  private final LongAdder receiptNotifications = new LongAdder();
  private final LongAdder reputationChecks = new LongAdder();
  private final LongAdder templateRenderings = new LongAdder();
  private final LongAdder sevenBitConverted = new LongAdder();
  private final LongAdder sevenBitRefused = new LongAdder();
  private final LongAdder tlsCertificatesLoaded = new LongAdder();
  private final LongAdder tlsCertificatesRefused = new LongAdder();
  private final LongAdder mtaStsFetched = new LongAdder();
  private final LongAdder mtaStsFetchFailed = new LongAdder();
  /** By {@link TlsReportResult}, in its order. */
  private final LongAdder[] tlsReports = {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()};
  /** By {@link DaneResult}, in its order. */
  private final LongAdder[] daneConnections = {new LongAdder(), new LongAdder(), new LongAdder()};
  private final Map<String, Long> tlsCertificateExpiry = new ConcurrentHashMap<>();
  /** The sending addresses' blocklist listings, "address zone" to since when (Unix time); null: none looked up. */
  private volatile Map<String, Long> blocklistListings;
  private final LatencyHistogram sendTime = new LatencyHistogram();
  private final LatencyHistogram limitsWait = new LatencyHistogram();
  private final LatencyHistogram commitWait = new LatencyHistogram();
  private final LatencyHistogram httpTime = new LatencyHistogram();
  private final LatencyHistogram loopDelay = new LatencyHistogram();
  private final long startedMillis = System.currentTimeMillis();
  private final java.util.concurrent.atomic.AtomicLong queueCountedAt = new java.util.concurrent.atomic.AtomicLong();
  private volatile long queued = -1;
  private volatile long scrapedAt = Long.MIN_VALUE / 2;

  public Metrics() {
    for (Disposition d : Disposition.values()) {
      outcomes.put(d, new LongAdder());
    }
  }

  /** The node's instance: every verticle of one Vert.x instance gets the same. */
  public static Metrics of(Vertx vertx) {
    return (Metrics) vertx.sharedData().getLocalMap("mailgate.metrics").computeIfAbsent("metrics", k -> new Metrics());
  }

  /** A message committed, with its recipients. */
  public void accepted(int recipients) {
    accepted.increment();
    acceptedRecipients.add(recipients);
  }

  /** How long accepted sends took in the node, from their start (request read and authenticated) to their commit. */
  public LatencyHistogram sendTime() {
    return sendTime;
  }

  /** How long sends waited for their sending-limit check (Redis), whatever it answered. */
  public LatencyHistogram limitsWait() {
    return limitsWait;
  }

  /** How long accepted sends waited for their commit (PostgreSQL, with the group commit's queue). */
  public LatencyHistogram commitWait() {
    return commitWait;
  }

  /** How long HTTP requests took, from their headers read to their answer written. */
  public LatencyHistogram httpTime() {
    return httpTime;
  }

  /** How late the HTTP event loops ran a task due on them (a probe every {@link #LOOP_PROBE_MILLIS} ms). */
  public LatencyHistogram loopDelay() {
    return loopDelay;
  }

  /** How often each HTTP event loop's delay is probed. */
  public static final long LOOP_PROBE_MILLIS = 10;

  /**
   * Probes the calling verticle's event loop every {@link #LOOP_PROBE_MILLIS} ms for as long as the verticle is
   * deployed (its timers go with it): how late each probe ran is what any task arriving then waited (a long task on
   * the loop, a garbage collection, the machine's other threads taking the CPU).
   */
  public void probeEventLoop(Vertx vertx) {
    long due = System.nanoTime() + LOOP_PROBE_MILLIS * 1_000_000;
    vertx.setTimer(LOOP_PROBE_MILLIS, id -> {
      loopDelay.since(due);
      probeEventLoop(vertx);
    });
  }

  /** A request or SMTP message refused: by the interface it came in on and the SES error code it got. */
  public void refused(String api, String code) {
    refused.computeIfAbsent(api + "\u0000" + code, k -> new LongAdder()).increment();
  }

  /** A recipient's attempt recorded. */
  public void outcome(Disposition d) {
    outcomes.get(d).increment();
  }

  /** An inbound report (bounce, complaint) stored: matched to a message of ours or kept unattributed. */
  public void feedback(boolean attributed) {
    (attributed ? feedbackAttributed : feedbackUnattributed).increment();
  }

  /** An inbound report that recorded nothing, read and answered but not stored: the node's hour budget was spent. */
  public void feedbackNotKept() {
    feedbackNotKept.increment();
  }

  /** Reputation transitions written, by scope ("account", "tenant") and the status entered. */
  private final Map<String, LongAdder> reputationTransitions = new ConcurrentHashMap<>();

  /**
   * An account's enforcement status (HEALTHY, PROBATION, SHUTDOWN) or a tenant's managed sending status changed by a
   * reputation check, as written: what an operator alerts on (a paused sender), besides the log line.
   */
  public void reputationTransition(String scope, String to) {
    reputationTransitions.computeIfAbsent(scope + "\u0000" + to, k -> new LongAdder()).increment();
  }

  /** What a fetch of a tracking link was. */
  public enum TrackingHit { OPEN, CLICK, INVALID, UNRECORDED }

  /**
   * A tracking link fetched: an open (pixel), a click, a link that is not one of ours, or an open or click answered
   * without being recorded (too many waiting to be).
   */
  public void tracked(TrackingHit hit) {
    (switch (hit) {
      case OPEN -> trackedOpens;
      case CLICK -> trackedClicks;
      case INVALID -> trackingInvalid;
      case UNRECORDED -> trackingUnrecorded;
    }).increment();
  }

  /** An event posted to a webhook: taken (2xx), refused or unanswered (to be retried), or given up. */
  public void event(boolean published, boolean dropped) {
    (published ? eventsPublished : dropped ? eventsDropped : eventsFailed).increment();
  }

  /** Events dropped together (older than events.maxAgeHours). */
  public void eventsDropped(long n) {
    eventsDropped.add(n);
  }

  /** A webhook's host name looked up (not known, or known longer than the JVM keeps a lookup). */
  public void webhookHostLookup() {
    webhookHostLookups.increment();
  }

  /** A failing webhook paused for {@code seconds} (its failures in a row, posts failing together counted once). */
  public void webhookPaused(long seconds) {
    webhookPauses.increment();
    webhookPausedSeconds.add(seconds);
  }

  /** What became of a message for receiving: kept (its actions' rows committed), bounced by a rule, or refused. */
  public enum Received { STORED, BOUNCED, REFUSED }

  /** A message (or a recipient, for refusals at RCPT TO) for receiving. */
  public void received(Received r) {
    (switch (r) {
      case STORED -> receivedStored;
      case BOUNCED -> receivedBounced;
      case REFUSED -> receivedRefused;
    }).increment();
  }

  /**
   * An attempt to a server without 8BITMIME for a message with 8-bit content: sent converted to 7 bits, or refused
   * (8-bit header fields, which no conversion fixes).
   */
  public void sevenBit(boolean converted) {
    (converted ? sevenBitConverted : sevenBitRefused).increment();
  }

  /** A changed certificate and key of an SMTP listener: presented from then on, or refused (the old one kept). */
  public void tlsCertificate(boolean loaded) {
    (loaded ? tlsCertificatesLoaded : tlsCertificatesRefused).increment();
  }

  /** A recipient domain's MTA-STS policy fetched: a policy, or no policy (not served, not trusted, not one). */
  public void mtaStsFetch(boolean fetched) {
    (fetched ? mtaStsFetched : mtaStsFetchFailed).increment();
  }

  /** How a connection to a DANE host (delivery.dane) went, as far as its TLS. */
  public enum DaneResult {
    /** TLS, with a certificate its TLSA records stand for. */
    AUTHENTICATED,
    /** TLS, unauthenticated: its authentic TLSA records are all unusable. */
    ENCRYPTED,
    /** No STARTTLS, a failed handshake, or a certificate its records do not stand for: nothing sent. */
    FAILED
  }

  /** What became of a claim of a daily TLS report (RFC 8460, tlsRpt.enabled). */
  public enum TlsReportResult {
    /** Posted and mailed to every destination of the domain's TLSRPT record. */
    SENT,
    /** The domain publishes no TLSRPT record: nothing sent. */
    UNREQUESTED,
    /** A destination or the record's lookup failed: tried again later. */
    RETRIED,
    /** Failed at every attempt: given up (what could go went). */
    ABANDONED
  }

  public void tlsReport(TlsReportResult result) {
    tlsReports[result.ordinal()].increment();
  }

  public void daneConnection(DaneResult result) {
    daneConnections[result.ordinal()].increment();
  }

  /**
   * The sending addresses' current DNS blocklist listings, as the last look at what the nodes found says: since when
   * (Unix time) by address and zone ({@code "address zone"}).
   */
  public void blocklistListings(Map<String, Long> listedSince) {
    blocklistListings = Map.copyOf(listedSince);
  }

  /** When the certificate {@code listener} (host:port) presents expires; null: it presents none any more. */
  public void tlsCertificateExpiry(String listener, java.time.Instant notAfter) {
    if (notAfter == null) {
      tlsCertificateExpiry.remove(listener);
    } else {
      tlsCertificateExpiry.put(listener, notAfter.getEpochSecond());
    }
  }

  /** A receipt notification posted to its webhook (2xx). */
  public void receiptNotified() {
    receiptNotifications.increment();
  }

  /**
   * A template rendered with one send's data (a SendEmail's, a bulk entry's, a TestRenderEmailTemplate's), whatever it
   * came to: the node's rendering threads' work.
   */
  public void templateRendering() {
    templateRenderings.increment();
  }

  /** The accounts' reputations computed by this node (one node computes per reputation.checkIntervalSeconds). */
  public void reputationCheck() {
    reputationChecks.increment();
  }

  /**
   * How far the queue is counted: beyond it the gauge says this many (a backlog, whose size beyond is not worth reading
   * a million index entries in 5 s on every node).
   */
  public static final int QUEUE_COUNT_CAP = 100_000;

  /** How often a node that is scraped counts its backlogs, in ms. */
  public static final long BACKLOG_COUNT_MILLIS = 5_000;

  /**
   * The least time between two counts of a node, in ms: a little less than {@link #BACKLOG_COUNT_MILLIS}, so that a
   * timer's tick that comes a millisecond early still counts rather than leaving the gauges twice as old.
   */
  static final long BACKLOG_COUNT_SPACING_MILLIS = BACKLOG_COUNT_MILLIS - 500;

  /**
   * How long a node keeps counting its backlogs after its last scrape, in ms: longer than any scraper's interval (the
   * staleness Prometheus gives a series is 5 minutes), and no count at all where no one reads the gauges.
   */
  static final long SCRAPED_WITHIN_MILLIS = 10 * 60_000;

  /** A scrape, at {@code nowMillis}: the backlogs are counted from now on, until scrapes stop. */
  public void scraped(long nowMillis) {
    scrapedAt = nowMillis;
  }

  /**
   * Whether the caller should count the backlogs now: true for one caller in {@link #BACKLOG_COUNT_SPACING_MILLIS} per
   * node while the node is scraped (the count reads up to {@link #QUEUE_COUNT_CAP} live index entries of each queue;
   * scrapes and timers from several event loops do not each start one).
   */
  public boolean queueCountDue(long nowMillis) {
    long last = queueCountedAt.get();
    return nowMillis - scrapedAt <= SCRAPED_WITHIN_MILLIS && nowMillis - last >= BACKLOG_COUNT_SPACING_MILLIS
        && queueCountedAt.compareAndSet(last, nowMillis);
  }

  private volatile long eventsPending = -1;
  private volatile long receiptsPending = -1;

  private volatile boolean backlogCountFailed;

  /**
   * The latest count of the backlogs ({@link io.mailgate.store.Backlogs}), or null when it failed: then their gauges
   * are left out of scrapes until a count succeeds, rather than repeating a value no longer true (a scraper sees them
   * absent, which an alert on the backlog can tell from an empty queue). Whether this is the first failure of a run
   * of them (the one to log).
   */
  public boolean backlogs(io.mailgate.store.Backlogs.Counts counts) {
    boolean firstFailure = counts == null && !backlogCountFailed;
    backlogCountFailed = counts == null;
    queued = counts == null ? -1 : counts.queuedRecipients();
    eventsPending = counts == null ? -1 : counts.eventsPending();
    receiptsPending = counts == null ? -1 : counts.receiptsPending();
    return firstFailure;
  }

  /** What a scrape reads besides the counters. */
  public record Gauges(int sites, int connections, int waitingForConnection, long requestBodyBytes,
      long deliveryContentBytes) {}

  public String render(Gauges g) {
    StringBuilder b = new StringBuilder(4096);
    counter(b, "mailgate_messages_accepted_total", "Messages committed (every API and SMTP submission).",
        accepted.sum());
    counter(b, "mailgate_recipients_accepted_total", "Recipients of the messages committed.", acceptedRecipients.sum());
    help(b, "mailgate_send_seconds", "histogram", "Time accepted sends took in this node (every API and SMTP "
        + "submission), from the start of the send (the request read, parsed and authenticated) to its commit.");
    sendTime.render(b, "mailgate_send_seconds", "");
    help(b, "mailgate_send_wait_seconds", "histogram", "Time sends waited, by what for: their sending-limit check "
        + "(limits: Redis, every check) and their commit (commit: PostgreSQL with the group commit's queue, every "
        + "send committed).");
    limitsWait.render(b, "mailgate_send_wait_seconds", "on=\"limits\"");
    commitWait.render(b, "mailgate_send_wait_seconds", "on=\"commit\"");
    help(b, "mailgate_http_request_seconds", "histogram", "Time HTTP requests took in this node (every API), from "
        + "their headers read to their answer written.");
    httpTime.render(b, "mailgate_http_request_seconds", "");
    help(b, "mailgate_event_loop_delay_seconds", "histogram", "How late a task due on an HTTP event loop ran (probed "
        + "every " + LOOP_PROBE_MILLIS + " ms on each): what a request arriving then waited before the node read it.");
    loopDelay.render(b, "mailgate_event_loop_delay_seconds", "");
    help(b, "mailgate_requests_refused_total", "counter", "Requests and SMTP messages refused, by interface and the "
        + "error code that interface gives (v2: x-amzn-ErrorType; v1 and smtp: v1's Code).");
    Map<String, Long> sorted = new TreeMap<>();
    refused.forEach((k, v) -> sorted.put(k, v.sum()));
    sorted.forEach((k, v) -> {
      int sep = k.indexOf('\u0000');
      b.append("mailgate_requests_refused_total{api=\"").append(k, 0, sep).append("\",code=\"")
          .append(label(k.substring(sep + 1))).append("\"} ").append(v).append('\n');
    });
    help(b, "mailgate_delivery_outcomes_total", "counter", "Recipients' delivery attempts this node reported, by what "
        + "became of them (rescheduled: not attempted, the destination paused).");
    for (Map.Entry<Disposition, LongAdder> e : outcomes.entrySet()) {
      b.append("mailgate_delivery_outcomes_total{outcome=\"").append(e.getKey().name().toLowerCase(java.util.Locale.ROOT))
          .append("\"} ").append(e.getValue().sum()).append('\n');
    }
    help(b, "mailgate_delivery_8bit_conversions_total", "counter", "Delivery attempts of messages with 8-bit content "
        + "to servers without 8BITMIME: converted (sent as 7-bit quoted-printable), refused (8-bit header fields, or "
        + "a structure that cannot be converted; a 554 bounce).");
    b.append("mailgate_delivery_8bit_conversions_total{result=\"converted\"} ").append(sevenBitConverted.sum())
        .append('\n');
    b.append("mailgate_delivery_8bit_conversions_total{result=\"refused\"} ").append(sevenBitRefused.sum())
        .append('\n');
    help(b, "mailgate_feedback_reports_total", "counter", "Inbound bounce and complaint reports stored.");
    b.append("mailgate_feedback_reports_total{attributed=\"true\"} ").append(feedbackAttributed.sum()).append('\n');
    b.append("mailgate_feedback_reports_total{attributed=\"false\"} ").append(feedbackUnattributed.sum()).append('\n');
    help(b, "mailgate_feedback_reports_not_kept_total", "counter",
        "Inbound reports that recorded nothing, answered but not stored: past the node's hour budget of them.");
    b.append("mailgate_feedback_reports_not_kept_total ").append(feedbackNotKept.sum()).append('\n');
    help(b, "mailgate_events_total", "counter", "Events posted to webhooks: published (2xx), failed (an attempt "
        + "refused or unanswered, retried later), dropped (given up after events.maxAgeHours, or no longer wanted).");
    b.append("mailgate_events_total{result=\"published\"} ").append(eventsPublished.sum()).append('\n');
    b.append("mailgate_events_total{result=\"failed\"} ").append(eventsFailed.sum()).append('\n');
    b.append("mailgate_events_total{result=\"dropped\"} ").append(eventsDropped.sum()).append('\n');
    counter(b, "mailgate_webhook_host_lookups_total", "Webhook host names looked up by the system resolver (a name "
        + "is looked up again once the JVM would look it up again: networkaddress.cache.ttl).", webhookHostLookups.sum());
    counter(b, "mailgate_webhook_pauses_total", "Webhooks (event destinations, receipt notification URLs) paused "
        + "after failing three times in a row (posts failing together count once).", webhookPauses.sum());
    counter(b, "mailgate_webhook_paused_seconds_total", "The lengths of those pauses, added up (10 s per failure in "
        + "a row, up to 10 minutes).", webhookPausedSeconds.sum());
    help(b, "mailgate_tracking_hits_total", "counter", "Open pixels and tracked links fetched; invalid: a token "
        + "that is not one of this cluster's (or not for the host it was fetched from); unrecorded: answered without "
        + "its event, too many waiting to be written.");
    b.append("mailgate_tracking_hits_total{type=\"open\"} ").append(trackedOpens.sum()).append('\n');
    b.append("mailgate_tracking_hits_total{type=\"click\"} ").append(trackedClicks.sum()).append('\n');
    b.append("mailgate_tracking_hits_total{type=\"invalid\"} ").append(trackingInvalid.sum()).append('\n');
    b.append("mailgate_tracking_hits_total{type=\"unrecorded\"} ").append(trackingUnrecorded.sum()).append('\n');
    help(b, "mailgate_received_total", "counter", "Inbound mail for receiving: stored (messages whose receipt rules' "
        + "actions were committed), bounced (messages a Bounce action answered), refused (recipients no rule takes, "
        + "blocked by a receipt filter, or needing TLS).");
    b.append("mailgate_received_total{result=\"stored\"} ").append(receivedStored.sum()).append('\n');
    b.append("mailgate_received_total{result=\"bounced\"} ").append(receivedBounced.sum()).append('\n');
    b.append("mailgate_received_total{result=\"refused\"} ").append(receivedRefused.sum()).append('\n');
    counter(b, "mailgate_receipt_notifications_total", "Receipt notifications posted to webhooks (2xx).",
        receiptNotifications.sum());
    help(b, "mailgate_tls_certificate_reloads_total", "counter", "Changed certificate and key files, counted "
        + "for each SMTP listener that reads them (smtp.tlsReloadSeconds): loaded (presented from the next connection on), refused (not parsed, "
        + "a key that does not match, an expired certificate: the listener keeps the one it has).");
    b.append("mailgate_tls_certificate_reloads_total{result=\"loaded\"} ").append(tlsCertificatesLoaded.sum())
        .append('\n');
    b.append("mailgate_tls_certificate_reloads_total{result=\"refused\"} ").append(tlsCertificatesRefused.sum())
        .append('\n');
    help(b, "mailgate_mta_sts_fetches_total", "counter", "Recipient domains' MTA-STS policies fetched in direct "
        + "delivery (delivery.mtaSts): fetched (a policy, cached for its max_age), failed (not served with a 200, "
        + "not text/plain, not trusted, too slow, too long, or not a policy: a policy the node holds stays in force).");
    b.append("mailgate_mta_sts_fetches_total{result=\"fetched\"} ").append(mtaStsFetched.sum()).append('\n');
    b.append("mailgate_mta_sts_fetches_total{result=\"failed\"} ").append(mtaStsFetchFailed.sum()).append('\n');
    help(b, "mailgate_dane_connections_total", "counter", "Connections to DANE hosts in direct delivery "
        + "(delivery.dane: MX hosts with TLSA records authentic in DNS): authenticated (TLS with a certificate their "
        + "records stand for), encrypted (TLS, unauthenticated: their records are all unusable), failed (no "
        + "STARTTLS, a failed handshake, or a certificate their records do not stand for: nothing was sent).");
    for (DaneResult r : DaneResult.values()) {
      b.append("mailgate_dane_connections_total{result=\"").append(r.name().toLowerCase(java.util.Locale.ROOT))
          .append("\"} ").append(daneConnections[r.ordinal()].sum()).append('\n');
    }
    help(b, "mailgate_tls_reports_total", "counter", "Daily TLS reports (RFC 8460, tlsRpt.enabled) this node "
        + "claimed: sent, unrequested (the domain publishes no TLSRPT record), retried (a destination or the record's "
        + "lookup failed), abandoned (failed at every attempt).");
    for (TlsReportResult r : TlsReportResult.values()) {
      b.append("mailgate_tls_reports_total{result=\"").append(r.name().toLowerCase(java.util.Locale.ROOT))
          .append("\"} ").append(tlsReports[r.ordinal()].sum()).append('\n');
    }
    Map<String, Long> listings = blocklistListings;
    if (listings != null) {
      help(b, "mailgate_blocklist_listings", "gauge", "Pairs of a sending address and a DNS blocklist "
          + "(delivery.blocklists) it is listed in now, as the nodes' look-ups found them: alert above 0 (mail from a "
          + "listed address is refused or filed as spam by the providers that use the list).");
      b.append("mailgate_blocklist_listings ").append(listings.size()).append('\n');
      if (!listings.isEmpty()) {
        help(b, "mailgate_blocklist_listed_since_seconds", "gauge", "Since when (Unix time) each sending address "
            + "has been listed in each blocklist that lists it (GetBlacklistReports' ListingTime).");
        new TreeMap<>(listings).forEach((pair, since) -> {
          int space = pair.indexOf(' ');
          b.append("mailgate_blocklist_listed_since_seconds{address=\"").append(label(pair.substring(0, space)))
              .append("\",zone=\"").append(label(pair.substring(space + 1))).append("\"} ").append(since)
              .append('\n');
        });
      }
    }
    if (!tlsCertificateExpiry.isEmpty()) {
      help(b, "mailgate_tls_certificate_expiry_seconds", "gauge", "When the certificate each SMTP listener presents "
          + "expires (Unix time): alert well before it, in case its renewal does not arrive.");
      new TreeMap<>(tlsCertificateExpiry).forEach((listener, at) -> b.append(
          "mailgate_tls_certificate_expiry_seconds{listener=\"").append(label(listener)).append("\"} ").append(at)
          .append('\n'));
    }
    counter(b, "mailgate_template_renderings_total", "Templates rendered with a send's data (each SendEmail and "
        + "SendTemplatedEmail with a template, each bulk entry, each TestRenderEmailTemplate), rendered or failed: the "
        + "work of the node's rendering threads. A send its sending limits refuse is refused before it is rendered.",
        templateRenderings.sum());
    counter(b, "mailgate_reputation_checks_total", "Reputation checks this node computed (one node computes per "
        + "reputation.checkIntervalSeconds; the others find it done).", reputationChecks.sum());
    help(b, "mailgate_reputation_transitions_total", "counter", "Reputation checks that changed an account's "
        + "enforcement status or a tenant's managed sending status, by the status entered (written by this node).");
    reputationTransitions.forEach((k, v) -> {
      int sep = k.indexOf('\u0000');
      b.append("mailgate_reputation_transitions_total{scope=\"").append(k, 0, sep).append("\",to=\"")
          .append(k.substring(sep + 1)).append("\"} ").append(v.sum()).append('\n');
    });
    long events = eventsPending;
    if (events >= 0) {
      gauge(b, "mailgate_event_outbox_pending", "Events waiting to be posted to webhooks (or retried), all nodes "
          + "(counted up to 100,000, every 5 s while the node is scraped): a backlog that grows is a webhook falling "
          + "behind, before its events reach events.maxAgeHours and are dropped.", events);
      gauge(b, "mailgate_receipt_outbox_pending", "Receipt notifications waiting to be posted, all nodes (counted as "
          + "events are).", receiptsPending);
    }
    long q = queued;
    if (q >= 0) {
      gauge(b, "mailgate_queue_recipients", "Recipients queued for delivery, all nodes (counted up to 100,000: "
          + "more shows as 100,000; every 5 s while the node is scraped).", q);
    }
    gauge(b, "mailgate_delivery_sites", "Destination sites this node keeps now: those with connections or something to remember, such as a pause (a site from each source address counted apart).", g.sites());
    gauge(b, "mailgate_delivery_connections", "SMTP connections this node has open to destination sites.",
        g.connections());
    gauge(b, "mailgate_delivery_waiting", "Attempts waiting for a connection to their site.", g.waitingForConnection());
    gauge(b, "mailgate_http_request_body_bytes", "Request bodies this node holds or has claimed.", g.requestBodyBytes());
    gauge(b, "mailgate_delivery_content_bytes", "Message content this node's delivery holds (delivery.maxContentKb).",
        g.deliveryContentBytes());
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    gauge(b, "mailgate_jvm_heap_used_bytes", "Heap in use.", heap.getUsed());
    if (heap.getMax() >= 0) {
      gauge(b, "mailgate_jvm_heap_max_bytes", "Largest heap the JVM may use.", heap.getMax());
    }
    long collections = 0;
    long collectionMillis = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      collections += Math.max(0, gc.getCollectionCount());
      collectionMillis += Math.max(0, gc.getCollectionTime());
    }
    counter(b, "mailgate_jvm_gc_collections_total", "Garbage collections.", collections);
    help(b, "mailgate_jvm_gc_seconds_total", "counter", "Time spent in garbage collection.");
    b.append("mailgate_jvm_gc_seconds_total ").append(collectionMillis / 1000.0).append('\n');
    help(b, "mailgate_start_time_seconds", "gauge", "When this node started (Unix time).");
    b.append("mailgate_start_time_seconds ").append(startedMillis / 1000).append('\n');
    return b.toString();
  }

  private static void counter(StringBuilder b, String name, String help, long value) {
    help(b, name, "counter", help);
    b.append(name).append(' ').append(value).append('\n');
  }

  private static void gauge(StringBuilder b, String name, String help, long value) {
    help(b, name, "gauge", help);
    b.append(name).append(' ').append(value).append('\n');
  }

  private static void help(StringBuilder b, String name, String type, String help) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n');
    b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  /** A label value: backslash, quote and newline escaped, as the format asks. */
  private static String label(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}
