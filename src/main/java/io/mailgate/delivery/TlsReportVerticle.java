package io.mailgate.delivery;

import io.mailgate.EventBusAddresses;
import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.metrics.Metrics;
import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.send.Caller;
import io.mailgate.send.MessageIds;
import io.mailgate.send.dkim.DkimKey;
import io.mailgate.send.dkim.DkimKeys;
import io.mailgate.send.dkim.DkimSigner;
import io.mailgate.store.Database;
import io.mailgate.store.NewMessage;
import io.mailgate.store.TlsReportStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.sqlclient.Pool;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * SMTP TLS Reporting (RFC 8460), one instance per node when {@code tlsRpt.enabled}: writes the node's session counts
 * ({@link TlsReportCounts}) to PostgreSQL each minute, adding to every other node's, and, every
 * {@code tlsRpt.intervalSeconds}, sends the reports of past days that are due: each claimed by one node, for a policy
 * domain whose {@code _smtp._tls} TXT record names where reports go, posted to its https destinations and mailed to
 * its mailto ones (a message of the system account, DKIM-signed with {@code tlsRpt.dkimKeyFile}, committed with the
 * report's being done). A report that cannot go (DNS, an HTTPS destination) is tried again with backoff for about a
 * day; a domain without a record gets none.
 */
public final class TlsReportVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(TlsReportVerticle.class.getName());
  /** A day's reports wait this long after its end: every node's last counts of it are written by then. */
  static final Duration SETTLE = Duration.ofMinutes(15);
  static final int BATCH = 20;
  static final int LEASE_SECONDS = 300;
  /** Attempts before a report is given up: 5 minutes doubled each time, about a day in all. */
  static final int MAX_ATTEMPTS = 9;
  static final long POST_TIMEOUT_MILLIS = 30_000;
  /** Done reports are kept this long (their state is all that is kept: the counts go with the sending). */
  static final int KEEP_DAYS = 30;

  private final MailgateConfig config;
  private final String leaseOwner;
  private final Clock clock;
  private final DnsResolver dns;
  private TlsReportCounts counts;
  private Pool db;
  private TlsReportStore store;
  private HttpClient http;
  private ClientSSLOptions ssl;
  private DkimKey dkim;
  private DkimSigner signer;
  private String organization;
  private String contact;
  private String submitter;
  private String from;
  private long flushTimer = -1;
  private long reportTimer = -1;
  private boolean reporting;

  public TlsReportVerticle(MailgateConfig config, String leaseOwner, Clock clock, DnsResolver dns) {
    this.config = config;
    this.leaseOwner = leaseOwner;
    this.clock = clock;
    this.dns = dns;
  }

  /** {@code tlsRpt.from} and the DKIM key: well formed, the key readable; blocks (called before the node starts). */
  public static void check(MailgateConfig config) {
    if (config.get(MailgateConfig.TLS_RPT_ENABLED)) {
      signingKey(config, from(config));
    }
  }

  private static String from(MailgateConfig config) {
    String from = config.get(MailgateConfig.TLS_RPT_FROM).strip();
    if (from.isEmpty()) {
      String bounce = config.get(MailgateConfig.DELIVERY_BOUNCE_DOMAIN).strip();
      from = "tls-reports@" + (bounce.isEmpty() ? submitter(config) : bounce);
    }
    if (!from.matches("[A-Za-z0-9._%+=-]+@[A-Za-z0-9.-]+")) {
      throw new ConfigException("tlsRpt.from must be a plain address (local@domain), not '" + from + "'");
    }
    return from;
  }

  private static String submitter(MailgateConfig config) {
    String helo = config.get(MailgateConfig.DELIVERY_HELO_NAME).strip();
    return helo.isEmpty() ? "localhost" : helo; // filled in with the host name when the node starts
  }

  private static DkimKey signingKey(MailgateConfig config, String from) {
    String file = config.get(MailgateConfig.TLS_RPT_DKIM_KEY_FILE).strip();
    if (file.isEmpty()) {
      return null;
    }
    try {
      return DkimKey.of(io.mailgate.identity.IdentityNames.domainOf(from), config.get(MailgateConfig.TLS_RPT_DKIM_SELECTOR).strip(),
          DkimKeys.readPrivateKeyPem(Files.readString(Path.of(file))));
    } catch (java.io.IOException | RuntimeException e) {
      throw new ConfigException("tlsRpt.dkimKeyFile " + file + " cannot be used: " + e.getMessage());
    }
  }

  @Override
  public Future<?> start() {
    counts = TlsReportCounts.create(vertx, clock);
    from = from(config);
    // the reporting domain: tlsRpt.from's, the same on every node (a report's id, its file name and its DKIM domain
    // do not depend on which node sends it)
    submitter = io.mailgate.identity.IdentityNames.domainOf(from);
    String org = config.get(MailgateConfig.TLS_RPT_ORGANIZATION).strip();
    organization = org.isEmpty() ? submitter : org;
    contact = config.get(MailgateConfig.TLS_RPT_CONTACT).strip();
    signer = new DkimSigner(clock);
    ssl = RelayTls.verifying("delivery.mtaStsCaFile", config.get(MailgateConfig.DELIVERY_MTA_STS_CA_FILE));
    db = Database.pool(vertx, config, 2);
    store = new TlsReportStore(db);
    http = vertx.createHttpClient(new HttpClientOptions().setForceSni(true).setKeepAlive(false));
    int interval = config.get(MailgateConfig.TLS_RPT_INTERVAL_SECONDS);
    flushTimer = vertx.setPeriodic(Math.min(60, interval) * 1000L, t -> flush());
    reportTimer = vertx.setPeriodic(interval * 1000L, t -> report());
    // the key file is read off the event loop
    return vertx.executeBlocking(() -> signingKey(config, from)).onSuccess(k -> dkim = k);
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(flushTimer);
    vertx.cancelTimer(reportTimer);
    return flush().eventually(() -> Future.join(http.close(), db.close()));
  }

  /** Writes what the node counted since the last write; what cannot be written is kept for the next. */
  Future<Void> flush() {
    long dropped = counts.takeDropped();
    if (dropped > 0) {
      LOG.warning(dropped + " TLS sessions were not counted for reporting: more than " + TlsReportCounts.MAX_KEYS
          + " kinds of session in a minute");
    }
    Map<TlsReportCounts.Session, Long> taken = counts.drain();
    if (taken.isEmpty()) {
      return Future.succeededFuture();
    }
    List<TlsReportStore.Count> rows = new ArrayList<>(taken.size());
    taken.forEach((s, n) -> {
      TlsReportCounts.Policy p = s.policy();
      rows.add(new TlsReportStore.Count(s.day(), p.domain(), p.type(), String.join("\n", p.strings()),
          String.join("\n", p.mxHosts()), s.result() == null ? "" : s.result(), s.sendingIp(), s.receivingMx(),
          s.receivingIp(), s.detail(), n));
    });
    return store.add(rows).onFailure(e -> {
      LOG.warning("cannot write TLS report counts (kept for the next write): " + e.getMessage());
      counts.restore(taken);
    });
  }

  /** Sends the due reports of past days; at most one pass at a time, another at once after a full claim. */
  void report() {
    if (reporting) {
      return;
    }
    reporting = true;
    Instant now = clock.instant();
    LocalDate before = LocalDate.ofInstant(now.minus(SETTLE), ZoneOffset.UTC);
    store.claim(before, now, BATCH, LEASE_SECONDS)
        .compose(due -> {
          List<Future<Void>> each = new ArrayList<>(due.size());
          for (TlsReportStore.Due d : due) {
            each.add(send(d).recover(e -> {
              LOG.warning("TLS report of " + d.policyDomain() + " for " + d.day() + " failed: " + e.getMessage());
              // claimed again once its lease is over (the backoff), until its attempts are spent
              return d.attempts() < MAX_ATTEMPTS ? Future.succeededFuture()
                  : store.done(d, "given up: " + e.getMessage(), List.of(), leaseOwner, 0)
                      .recover(x -> Future.succeededFuture());
            }));
          }
          return Future.join(each).map(v -> due.size());
        })
        .compose(n -> store.sweep(before.minusDays(KEEP_DAYS)).map(n))
        .onComplete(ar -> {
          reporting = false;
          if (ar.failed()) {
            LOG.warning("cannot claim TLS reports (they wait for the next pass): " + ar.cause().getMessage());
          } else if (ar.result() == BATCH) {
            report();
          }
        });
  }

  private Future<Void> send(TlsReportStore.Due d) {
    return store.counts(d).compose(rows -> rows.isEmpty() ? store.done(d, "no sessions", List.of(), leaseOwner, 0)
        : dns.txt("_smtp._tls." + d.policyDomain()).compose(answer -> {
          if (answer instanceof DnsAnswer.Unavailable<String> u) {
            return again(d, "its _smtp._tls TXT record could not be looked up: " + u.reason());
          }
          TlsReport.Destinations found = TlsReport.destinations(answer.records());
          TlsReport.Destinations to = found == null ? null : found.sendable(dkim != null);
          if (found != null && to == null) {
            return store.done(d, "mailto destinations only, and no tlsRpt.dkimKeyFile to sign reports by mail with",
                List.of(), leaseOwner, 0).onSuccess(v -> metrics().tlsReport(Metrics.TlsReportResult.UNREQUESTED));
          }
          if (to == null) {
            return store.done(d, "no TLSRPT record (v=TLSRPTv1 with a mailto or https rua)", List.of(), leaseOwner, 0)
                .onSuccess(v -> metrics().tlsReport(Metrics.TlsReportResult.UNREQUESTED));
          }
          String id = TlsReport.reportId(d.day(), d.policyDomain(), submitter);
          byte[] gzipped = TlsReport.gzip(TlsReport.json(organization, contact, id, d.day(), d.policyDomain(), rows));
          List<Future<Void>> posts = new ArrayList<>();
          for (URI uri : to.https()) {
            posts.add(post(uri, gzipped));
          }
          return Future.join(posts).transform(ar -> {
            List<String> failed = new ArrayList<>();
            for (int i = 0; i < posts.size(); i++) {
              if (posts.get(i).failed()) {
                failed.add(to.https().get(i) + ": " + posts.get(i).cause().getMessage());
              }
            }
            if (!failed.isEmpty() && d.attempts() < MAX_ATTEMPTS) {
              return again(d, String.join("; ", failed)); // the mail waits for the posts: one copy of it
            }
            List<NewMessage> mail = new ArrayList<>();
            List<io.mailgate.delivery.DeliveryJob> jobs = new ArrayList<>();
            for (String address : to.mailto()) {
              mail(address, d, id, gzipped, mail, jobs);
            }
            return store.done(d, failed.isEmpty() ? null : "given up: " + String.join("; ", failed), mail,
                    leaseOwner, config.get(MailgateConfig.DELIVERY_LEASE_SECONDS))
                .onSuccess(v -> {
                  metrics().tlsReport(failed.isEmpty() ? Metrics.TlsReportResult.SENT
                      : Metrics.TlsReportResult.ABANDONED);
                  jobs.forEach(job -> vertx.eventBus().send(EventBusAddresses.SEND_ACCEPTED, job));
                  LOG.info("TLS report of " + d.policyDomain() + " for " + d.day() + " sent to "
                      + String.join(", ", to.mailto()) + (to.mailto().isEmpty() || to.https().isEmpty() ? "" : ", ")
                      + String.join(", ", to.https().stream().map(URI::toString).toList()));
                });
          });
        }));
  }

  private Future<Void> again(TlsReportStore.Due d, String error) {
    if (d.attempts() >= MAX_ATTEMPTS) {
      return store.done(d, "given up: " + error, List.of(), leaseOwner, 0)
          .onSuccess(v -> metrics().tlsReport(Metrics.TlsReportResult.ABANDONED));
    }
    long delay = 300L << Math.min(d.attempts() - 1, 8);
    return store.retry(d, clock.instant().plusSeconds(delay), error)
        .onSuccess(v -> metrics().tlsReport(Metrics.TlsReportResult.RETRIED));
  }

  private Metrics metrics() {
    return Metrics.of(vertx);
  }

  private void mail(String to, TlsReportStore.Due d, String reportId, byte[] gzipped, List<NewMessage> mail,
      List<io.mailgate.delivery.DeliveryJob> jobs) {
    Instant now = clock.instant();
    String id = MessageIds.next(now);
    byte[] content = TlsReport.mail(from, to, submitter, d.policyDomain(), reportId, d.day(), gzipped,
        ZonedDateTime.ofInstant(now, ZoneOffset.UTC), id + "@" + submitter);
    if (dkim != null) {
      content = signer.sign(content, dkim);
    }
    // the null sender: nothing answers a report, and a report's bounce is not one to report on
    mail.add(new NewMessage(id, Caller.SYSTEM_ACCOUNT, from, "", null, null, "[]", content, List.of(to), now, null,
        null));
    jobs.add(new io.mailgate.delivery.DeliveryJob(id, Caller.SYSTEM_ACCOUNT, "", null, null,
        List.of(new io.mailgate.delivery.DeliveryJob.Recipient(0, to, 0, io.mailgate.store.Timestamps.stored(now))),
        content, now));
  }

  /**
   * Posts the gzipped report to an https destination (RFC 8460 5.2): {@code application/tlsrpt+gzip}, its certificate
   * verified as an MTA-STS policy host's is, any 2xx taken as received, within {@link #POST_TIMEOUT_MILLIS}.
   */
  private Future<Void> post(URI uri, byte[] gzipped) {
    String host = uri.getHost();
    int port = uri.getPort() < 0 ? 443 : uri.getPort();
    boolean allowPrivate = config.get(MailgateConfig.DELIVERY_ALLOW_PRIVATE_ADDRESSES);
    return MtaSts.httpsAddress(dns, host, allowPrivate).compose(address -> {
      String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
      RequestOptions request = new RequestOptions().setMethod(HttpMethod.POST).setSsl(true).setSslOptions(ssl)
          .setServer(SocketAddress.inetSocketAddress(port, address.getHostAddress()))
          .setHost(host).setPort(port).setURI(uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery())
          .setFollowRedirects(false).setTimeout(POST_TIMEOUT_MILLIS)
          .putHeader("Content-Type", "application/tlsrpt+gzip");
      Promise<Void> done = Promise.promise();
      java.util.concurrent.atomic.AtomicReference<io.vertx.core.http.HttpClientRequest> sent =
          new java.util.concurrent.atomic.AtomicReference<>();
      // a deadline for the whole post (the request's timeout is an idle one: a trickle would never end it), well
      // within the claim's lease
      long deadline = vertx.setTimer(POST_TIMEOUT_MILLIS, t -> {
        if (done.tryFail(new IllegalStateException("took longer than " + POST_TIMEOUT_MILLIS + " ms"))
            && sent.get() != null) {
          sent.get().reset();
        }
      });
      http.request(request)
          .compose(req -> {
            sent.set(req);
            return done.future().isComplete() ? Future.failedFuture("past the deadline")
                : req.send(Buffer.buffer(gzipped));
          })
          .onFailure(done::tryFail)
          .onSuccess(response -> {
            // the status is the answer; whatever body comes with it is not read (nor kept in memory)
            if (response.statusCode() / 100 == 2) {
              done.tryComplete();
            } else {
              done.tryFail(new IllegalStateException("answered " + response.statusCode()));
            }
            response.request().reset();
          });
      return done.future().onComplete(v -> vertx.cancelTimer(deadline));
    });
  }
}
