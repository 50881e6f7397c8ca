package io.mailgate.delivery;

import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.shareddata.Shareable;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.logging.Logger;

/**
 * Recipient domains' MTA-STS policies (RFC 8461), for direct delivery: the {@code _mta-sts.<domain>} TXT record
 * names the policy's id, and the policy itself is fetched over HTTPS from {@code mta-sts.<domain>} (a certificate
 * valid for that name, status 200 and nothing else, text/plain, at most 64 KB, from the connect to the last byte within
 * the fetch deadline) and kept for its max_age.
 *
 * <p>A domain's answer is cached for the node ({@link Cache}, shared by the delivery instances). The recipients of a
 * domain the node knows nothing of (or whose policy has expired) wait for its TXT lookup and, when there is a record,
 * the fetch: at most the DNS timeouts and the fetch deadline, once per domain and recheck time (an expired policy that
 * cannot be renewed is dropped, and the domain then goes by "no policy" until its next check). Later ones take the cached answer at
 * once and, once it is {@link #RECHECK_MILLIS} old, start one lookup in the background that replaces it. A new id
 * fetches the policy again; the same id keeps it, and fetches it again once half its max_age (at most a day) has gone
 * by, so that a policy in use is renewed before it expires (RFC 8461 5.1). A policy that cannot be fetched again, or
 * whose TXT record disappeared, stays in force until its max_age is over: an attacker who blocks the record or the
 * fetch cannot take a policy away from a domain the node has one for. Without a cached policy, a domain whose TXT
 * lookup or fetch fails has none, as the RFC says (delivery as before, opportunistic TLS).
 *
 * <p>Never fails: a null policy means none applies.
 */
final class MtaSts {
  private static final Logger LOG = Logger.getLogger(MtaSts.class.getName());

  /** How old a cached answer may be before a lookup in the background checks the TXT record again. */
  static final long RECHECK_MILLIS = 5 * 60_000L;
  /** A policy in use is fetched again after half its max_age, and at least once a day. */
  static final long MAX_REFRESH_MILLIS = 24 * 3600_000L;
  /** The longest a policy body may be (RFC 8461 3.2 leaves it open; 64 KB is far more than any real policy). */
  static final int MAX_POLICY_BYTES = 64 * 1024;
  static final String PATH = "/.well-known/mta-sts.txt";

  /**
   * What the node knows of a domain: its policy (null: none), the id and time it was fetched for, when it expires
   * and when the domain was last checked.
   */
  record Known(MtaStsPolicy policy, String id, long fetchedAtMillis, long expiresAtMillis, long checkedAtMillis) {
    static Known none(long nowMillis) {
      return new Known(null, null, 0, 0, nowMillis);
    }

    MtaStsPolicy current(long nowMillis) {
      return policy != null && nowMillis < expiresAtMillis ? policy : null;
    }

    Known checkedAt(long nowMillis) {
      return new Known(policy, id, fetchedAtMillis, expiresAtMillis, nowMillis);
    }

    /** Whether the policy in use has been kept long enough to be fetched again, its id unchanged. */
    boolean dueForRefresh(long nowMillis) {
      return nowMillis - fetchedAtMillis >= Math.min(MAX_REFRESH_MILLIS, (expiresAtMillis - fetchedAtMillis) / 2);
    }
  }

  /** The node's answers, by domain: one map for all delivery instances. */
  static final class Cache implements Shareable {
    final Map<String, Known> domains = new ConcurrentHashMap<>();
  }

  private final Vertx vertx;
  private final Cache cache;
  private final DnsResolver dns;
  private final HttpClient http;
  private final ClientSSLOptions ssl;
  private final int port;
  private final boolean allowPrivateAddresses;
  private final long timeoutMillis;
  private final LongSupplier clock;
  /** Lookups under way on this instance's event loop, by domain: one at a time per domain. */
  private final Map<String, Future<Known>> inFlight = new HashMap<>();

  /**
   * @param ssl how the policy host's certificate is checked (its chain, and its name: {@code mta-sts.<domain>})
   * @param port the policy host's HTTPS port (443)
   * @param timeoutMillis the deadline of a fetch, from its connect to the policy's last byte
   */
  MtaSts(Vertx vertx, Cache cache, DnsResolver dns, HttpClient http, ClientSSLOptions ssl, int port,
      boolean allowPrivateAddresses, long timeoutMillis, LongSupplier clock) {
    this.vertx = vertx;
    this.cache = cache;
    this.dns = dns;
    this.http = http;
    this.ssl = ssl;
    this.port = port;
    this.allowPrivateAddresses = allowPrivateAddresses;
    this.timeoutMillis = timeoutMillis;
    this.clock = clock;
  }

  /** The policy that applies to mail for {@code domain} now, or null. */
  Future<MtaStsPolicy> policy(String domain) {
    String d = domain.toLowerCase(Locale.ROOT);
    long now = clock.getAsLong();
    Known known = cache.domains.get(d);
    if (known == null || (known.policy() != null && known.current(now) == null)) {
      // nothing known, or a policy that expired: this recipient waits for the answer rather than go unprotected
      return lookup(d, known).map(k -> k.current(clock.getAsLong()));
    }
    if (now - known.checkedAtMillis() >= RECHECK_MILLIS) {
      lookup(d, known); // in the background: this recipient goes by what is known
    }
    return Future.succeededFuture(known.current(now));
  }

  /**
   * Forgets the domains that have no policy in force and were checked a recheck time ago or more: a node that delivers
   * to millions of domains keeps only those with a policy (few), and the rest is looked up again when mail comes.
   */
  void sweep() {
    long now = clock.getAsLong();
    cache.domains.values().removeIf(k -> k.current(now) == null && now - k.checkedAtMillis() >= RECHECK_MILLIS);
  }

  private Future<Known> lookup(String domain, Known known) {
    Future<Known> running = inFlight.get(domain);
    if (running != null) {
      return running;
    }
    Future<Known> f = dns.txt("_mta-sts." + domain)
        .compose(answer -> refreshed(domain, answer, known))
        .recover(e -> Future.succeededFuture(kept(known, "its lookup failed: " + e.getMessage(), domain)))
        // the other instances look up on their own: what one of them found meanwhile is not undone by this answer
        .map(k -> cache.domains.merge(domain, k, (cached, found) -> newer(cached, found, clock.getAsLong())))
        .recover(e -> Future.succeededFuture(Known.none(clock.getAsLong())))
        .andThen(done -> inFlight.remove(domain));
    // a lookup that completed at once has already removed itself (and must not be put back)
    if (!f.isComplete()) {
      inFlight.put(domain, f);
    }
    return f;
  }

  /**
   * Which of two answers for a domain stands: a policy in force stays when the answer found was fetched before it. So
   * an answer without a policy ({@link Known#none}, fetched at 0) does not replace a policy another instance fetched
   * meanwhile (that answer began before the policy was found: a lookup that knew it would have kept it), while a
   * policy fetched again replaces the one before, whatever its max_age (0 included: a domain leaving MTA-STS), and an
   * expired policy gives way to anything.
   */
  static Known newer(Known cached, Known found, long nowMillis) {
    if (cached.current(nowMillis) != null && found.fetchedAtMillis() < cached.fetchedAtMillis()) {
      return cached.checkedAt(Math.max(cached.checkedAtMillis(), found.checkedAtMillis()));
    }
    return found;
  }

  private Future<Known> refreshed(String domain, DnsAnswer<String> answer, Known known) {
    long now = clock.getAsLong();
    if (answer instanceof DnsAnswer.Unavailable<String> u) {
      return Future.succeededFuture(kept(known, "its TXT record could not be looked up: " + u.reason(), domain));
    }
    List<String> ids = new ArrayList<>();
    for (String txt : answer.records()) {
      if (MtaStsPolicy.isStsRecord(txt)) {
        ids.add(MtaStsPolicy.recordId(txt));
      }
    }
    if (ids.size() != 1 || ids.get(0) == null) {
      // none, several (RFC 8461 3.1: then as if none), or a malformed one: a cached policy stays until its max_age
      return Future.succeededFuture(kept(known, null, domain));
    }
    String id = ids.get(0);
    if (known != null && id.equals(known.id()) && known.current(now) != null && !known.dueForRefresh(now)) {
      return Future.succeededFuture(known.checkedAt(now));
    }
    Future<MtaStsPolicy> fetch = fetch(domain);
    fetch.onComplete(done -> io.mailgate.metrics.Metrics.of(vertx).mtaStsFetch(done.succeeded()));
    return fetch.map(policy -> {
      long fetched = clock.getAsLong();
      if (known == null || known.current(fetched) == null || !id.equals(known.id())) {
        LOG.info("MTA-STS policy of " + domain + " (id " + id + "): " + policy.mode().name().toLowerCase(Locale.ROOT)
            + ", mx " + String.join(", ", policy.mx()) + ", max_age " + policy.maxAgeSeconds() + " s");
      }
      // in force for the recheck time at least: a max_age of 0 (or a few seconds) would make the policy expired
      // before the recipient it was fetched for used it, and every next recipient would fetch it again
      long inForce = Math.max(policy.maxAgeSeconds() * 1000L, RECHECK_MILLIS);
      return new Known(policy, id, fetched, fetched + inForce, fetched);
    }).recover(e -> {
      TlsReportCounts reports = TlsReportCounts.of(vertx);
      if (reports != null) {
        reports.failure(TlsReportCounts.Policy.sts(domain, null), e instanceof IllegalArgumentException
            ? TlsReportCounts.STS_POLICY_INVALID : TlsReportCounts.STS_POLICY_FETCH_ERROR, "", "mta-sts." + domain, "",
            e.getMessage());
      }
      return Future.succeededFuture(kept(known, "its policy could not be fetched: " + e.getMessage(), domain));
    });
  }

  /**
   * What is known of the domain after a check that brought no new policy: a cached policy stays until it expires; an
   * expired one is dropped (the domain's next recipients do not wait for another lookup before the recheck time).
   */
  private Known kept(Known known, String failure, String domain) {
    long now = clock.getAsLong();
    boolean inForce = known != null && known.current(now) != null;
    if (failure != null && inForce && known.policy().mode() != MtaStsPolicy.Mode.NONE) {
      // RFC 8461 5.1: a policy in use that cannot be renewed is the operator's to know (once per recheck at most)
      LOG.warning("MTA-STS policy of " + domain + " (id " + known.id() + ") could not be checked: " + failure
          + "; it stays in force until its max_age is over");
    } else if (failure != null) {
      LOG.fine("MTA-STS of " + domain + ": " + failure);
    }
    return inForce ? known.checkedAt(now) : Known.none(now);
  }

  /**
   * The address to reach an HTTPS host on (a policy host, a TLS report destination): its first, or its first public
   * one unless private addresses are allowed (a domain's DNS must not make the node call into its own network), or a
   * failure that says why none.
   */
  static Future<InetAddress> httpsAddress(DnsResolver dns, String host, boolean allowPrivateAddresses) {
    return dns.addresses(host).compose(answer -> {
      for (InetAddress a : answer.records()) {
        if (allowPrivateAddresses || io.mailgate.NetAddresses.isPublic(a)) {
          return Future.succeededFuture(a);
        }
      }
      return Future.failedFuture(new IllegalStateException(answer.records().isEmpty()
          ? host + " has no address" : host + " has no public address"));
    });
  }

  /**
   * The policy at {@code https://mta-sts.<domain>/.well-known/mta-sts.txt}, or a failure that says why not; within
   * {@link #timeoutMillis} from the connect to the last byte (RFC 8461 3.3), whatever the server's pace.
   */
  private Future<MtaStsPolicy> fetch(String domain) {
    String host = "mta-sts." + domain;
    return httpsAddress(dns, host, allowPrivateAddresses).compose(address -> {
      Promise<Buffer> body = Promise.promise();
      java.util.concurrent.atomic.AtomicReference<HttpClientRequest> sent =
          new java.util.concurrent.atomic.AtomicReference<>();
      long deadline = vertx.setTimer(timeoutMillis, t -> {
        if (body.tryFail(new IllegalStateException("https://" + host + PATH + " took longer than " + timeoutMillis
            + " ms")) && sent.get() != null) {
          sent.get().reset();
        }
      });
      RequestOptions request = new RequestOptions().setMethod(HttpMethod.GET).setSsl(true).setSslOptions(ssl)
          .setServer(SocketAddress.inetSocketAddress(port, address.getHostAddress()))
          .setHost(host).setPort(port).setURI(PATH).setFollowRedirects(false)
          .setConnectTimeout(timeoutMillis).setIdleTimeout(timeoutMillis);
      http.request(request).compose(req -> {
        sent.set(req);
        if (body.future().isComplete()) { // past the deadline already
          req.reset();
          return Future.failedFuture(new IllegalStateException("past the deadline"));
        }
        return req.send();
      }).onFailure(body::tryFail).onSuccess(response -> {
        if (body.future().isComplete()) {
          sent.get().reset();
          return;
        }
        String refused = null;
        String type = response.getHeader("Content-Type");
        if (response.statusCode() != 200) {
          refused = "answered " + response.statusCode() + " (only 200 is a policy)";
        } else if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("text/plain")) {
          refused = "is " + type + ", not text/plain";
        }
        if (refused != null) {
          body.tryFail(new IllegalStateException("https://" + host + PATH + " " + refused));
          sent.get().reset();
          return;
        }
        Buffer read = Buffer.buffer();
        response.handler(chunk -> {
          if (read.length() + chunk.length() > MAX_POLICY_BYTES) {
            if (body.tryFail(new IllegalStateException("https://" + host + PATH + " is longer than "
                + MAX_POLICY_BYTES + " bytes"))) {
              sent.get().reset();
            }
          } else {
            read.appendBuffer(chunk);
          }
        });
        response.exceptionHandler(body::tryFail);
        response.endHandler(v -> body.tryComplete(read));
      });
      return body.future().onComplete(done -> vertx.cancelTimer(deadline))
          .map(b -> MtaStsPolicy.parse(b.toString(StandardCharsets.UTF_8)));
    });
  }
}
