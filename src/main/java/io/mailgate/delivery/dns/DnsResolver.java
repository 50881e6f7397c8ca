package io.mailgate.delivery.dns;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * DNS for mail: MX, A, AAAA, TXT, PTR and TLSA lookups and the route to a recipient domain, cached for their
 * TTLs (negative answers too, RFC 2308), with concurrent lookups of one name coalesced into one
 * query. One instance per node, shared by every verticle that needs DNS; safe from any thread.
 *
 * <p>Nothing blocks: a cached answer comes back as an already completed future; anything else
 * completes on the context of the caller (its event loop), so handlers need no extra hop.
 * Futures fail only for a name that cannot be a domain name, or once the resolver is closed;
 * every DNS outcome, failures included, is a {@link DnsAnswer} or a {@link MailRoute}.
 *
 * <p>Built on Netty's {@code DnsNameResolver} as a raw query engine (see {@link DnsTransport}), not
 * on the Vert.x {@code DnsClient}: that one gives TTLs for MX records only (not A, AAAA or TXT),
 * reports NXDOMAIN as a failed future without the SOA a negative TTL comes from, and speaks UDP
 * only, so a truncated answer (a 2048-bit DKIM key beside other TXT records easily is one) is lost
 * instead of asked again over TCP.
 */
public final class DnsResolver {

  private final Vertx vertx;
  private final DnsResolverOptions options;
  private final DnsTransport transport;
  private final AnswerCache cache;
  private final MailRouter router;

  public static DnsResolver create(Vertx vertx, DnsResolverOptions options) {
    return new DnsResolver(vertx, options, Clock.systemUTC());
  }

  /** @param clock decides when cached answers expire (tests move it forward instead of sleeping) */
  public DnsResolver(Vertx vertx, DnsResolverOptions options, Clock clock) {
    this.vertx = vertx;
    this.options = options;
    this.transport = new DnsTransport(options);
    this.cache = new AnswerCache(transport::query, options, clock);
    this.router = new MailRouter(this, options);
  }

  /** MX records, by preference then name. */
  public Future<DnsAnswer<MxRecord>> mx(String domain) {
    return lookup(domain, RecordType.MX);
  }

  public Future<DnsAnswer<InetAddress>> a(String host) {
    return lookup(host, RecordType.A);
  }

  public Future<DnsAnswer<InetAddress>> aaaa(String host) {
    return lookup(host, RecordType.AAAA);
  }

  /**
   * A and AAAA together (AAAA only if {@link DnsResolverOptions#ipv6()}), IPv4 first: found if
   * either is; otherwise a failure of either wins over "no records", and "no records" over "no such
   * domain".
   */
  public Future<DnsAnswer<InetAddress>> addresses(String host) {
    Future<DnsAnswer<InetAddress>> v4 = a(host);
    if (!options.ipv6()) {
      return v4;
    }
    Future<DnsAnswer<InetAddress>> v6 = aaaa(host);
    return Future.all(v4, v6).map(done -> combine(v4.result(), v6.result()));
  }

  /**
   * The TLSA records of the TLS service on {@code port} of {@code host} ({@code _25._tcp.mx.example.com}, RFC 6698
   * 3), as DANE asks for them.
   */
  public Future<DnsAnswer<TlsaRecord>> tlsa(String host, int port) {
    return lookup("_" + port + "._tcp." + host, RecordType.TLSA);
  }

  /** TXT records, each one value (its character strings joined), as the server sent them. */
  public Future<DnsAnswer<String>> txt(String name) {
    return lookup(name, RecordType.TXT);
  }

  /**
   * The names an address maps back to (its PTR records, as the server sent them), asked under {@code in-addr.arpa}
   * or {@code ip6.arpa}; the answer carries that reverse name. Nothing says the names map to the address again:
   * whoever trusts one (SPF's {@code ptr}) checks its addresses.
   */
  public Future<DnsAnswer<String>> ptr(InetAddress ip) {
    return lookup(DnsNames.reverse(ip), RecordType.PTR);
  }

  /** Where mail for {@code domain} goes, or why it cannot go: see {@link MailRoute}. Never fails for DNS reasons. */
  public Future<MailRoute> route(String domain) {
    return router.route(domain);
  }

  /** Stops the DNS thread; lookups after this fail. */
  public Future<Void> close() {
    return transport.close();
  }

  private <T> Future<DnsAnswer<T>> lookup(String name, RecordType<T> type) {
    String canonical;
    try {
      canonical = DnsNames.canonical(name);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    return onCallerContext(cache.lookup(canonical, type));
  }

  /** The cache hands out answers of every type; the key's type guarantees this one's. */
  @SuppressWarnings("unchecked")
  private <T> Future<DnsAnswer<T>> onCallerContext(Future<DnsAnswer<?>> result) {
    Future<DnsAnswer<T>> typed = (Future<DnsAnswer<T>>) (Future<?>) result;
    if (typed.isComplete()) {
      return typed;
    }
    // Completed on the DNS thread (or another caller's): move to the caller's context.
    Context caller = vertx.getOrCreateContext();
    Promise<DnsAnswer<T>> promise = Promise.promise();
    typed.onComplete(ar -> caller.runOnContext(v -> promise.handle(ar)));
    return promise.future();
  }

  private static DnsAnswer<InetAddress> combine(DnsAnswer<InetAddress> v4, DnsAnswer<InetAddress> v6) {
    if (v4 instanceof DnsAnswer.Found || v6 instanceof DnsAnswer.Found) {
      List<InetAddress> all = new ArrayList<>(v4.records());
      all.addAll(v6.records());
      // authentic if each family's answer is, but one that failed: it adds no address to connect to
      return new DnsAnswer.Found<>(v4.name(), all, (v4.authenticated() || v4 instanceof DnsAnswer.Unavailable)
          && (v6.authenticated() || v6 instanceof DnsAnswer.Unavailable));
    }
    if (v4 instanceof DnsAnswer.Unavailable) {
      return v4;
    }
    if (v6 instanceof DnsAnswer.Unavailable) {
      return v6;
    }
    if (v4 instanceof DnsAnswer.NoRecords || v6 instanceof DnsAnswer.NoRecords) {
      return new DnsAnswer.NoRecords<>(v4.name(), v4.authenticated() && v6.authenticated());
    }
    return v4;
  }
}
