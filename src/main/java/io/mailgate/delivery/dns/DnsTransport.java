package io.mailgate.delivery.dns;

import io.mailgate.delivery.dns.ResponseReader.Answered;
import io.mailgate.delivery.dns.ResponseReader.Reading;
import io.mailgate.delivery.dns.ResponseReader.Redirected;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsNameResolverTimeoutException;
import io.netty.resolver.dns.DnsServerAddressStream;
import io.netty.resolver.dns.DnsServerAddressStreamProvider;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.resolver.dns.NoopAuthoritativeDnsServerCache;
import io.netty.resolver.dns.NoopDnsCache;
import io.netty.resolver.dns.NoopDnsCnameCache;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Sends queries and reads answers with their TTLs, on Netty's {@link DnsNameResolver} used as a
 * raw query engine ({@code query(server, question)}): Netty gives random query ids, matching of
 * answers to questions, timeouts, EDNS(0) and the retry over TCP when an answer comes back
 * truncated; this class adds what a mail resolver needs on top: trying the next server on
 * timeout or SERVFAIL, following CNAMEs the server left unresolved, and turning every outcome,
 * errors included, into a {@link DnsAnswer}. Netty's own caches are switched off: the TTL cache is
 * {@link AnswerCache}.
 *
 * <p>It runs on one daemon thread of its own rather than on a Vert.x event loop: reaching Vert.x's
 * Netty event loops and channel factories needs Vert.x internals, and the channel types must
 * match the transport Vert.x picked (NIO, epoll, io_uring). DNS traffic is a few queries per
 * domain per TTL, so one thread is plenty. Results are handed back to the caller's context by
 * {@link DnsResolver}.
 */
final class DnsTransport {

  /** DNS Flag Day 2020: large enough for most answers, small enough not to fragment; bigger goes over TCP. */
  private static final int UDP_PAYLOAD_SIZE = 1232;

  private final EventLoopGroup group;
  private final EventLoop loop;
  private final DnsNameResolver resolver;
  private final DnsServerAddressStreamProvider servers;
  private final int attempts;
  private final long timeoutMillis;
  private final boolean trustRemoteAd;
  /** Records added to each query: the OPT record asking for DNSSEC, or none. */
  private final List<io.netty.handler.codec.dns.DnsRecord> additionals;
  // Both confined to the DNS thread.
  private final Set<Lookup<?>> pending = new HashSet<>();
  private boolean closed;

  DnsTransport(DnsResolverOptions options) {
    // platformDefault(): /etc/resolv.conf on Unix, read once by Netty.
    this(options, options.servers().isEmpty() ? DnsServerAddressStreamProviders.platformDefault()
        : new SequentialDnsServerAddressStreamProvider(options.servers()));
  }

  /** With the resolvers of {@code servers} (the system's, in a test: ones it stands in for them). */
  DnsTransport(DnsResolverOptions options, DnsServerAddressStreamProvider servers) {
    this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("mailgate-dns", true),
        NioIoHandler.newFactory());
    this.loop = group.next();
    this.servers = servers;
    // at least: every server of the lookup's stream gets its turn (retryOrFail), however few attempts are configured
    this.attempts = options.attempts();
    this.timeoutMillis = options.queryTimeout().toMillis();
    this.additionals = options.dnssec() ? List.of(new DnssecOk(UDP_PAYLOAD_SIZE)) : List.of();
    this.trustRemoteAd = options.trustRemoteAd();
    this.resolver = new DnsNameResolverBuilder(loop)
        .datagramChannelType(NioDatagramChannel.class)
        .socketChannelType(NioSocketChannel.class) // retry over TCP when the UDP answer is truncated
        .nameServerProvider(servers)
        // a socket, and a source port, of its own for each lookup: with one for the node's life, the 16-bit query id
        // would be all a spoofed answer had to guess (RFC 5452 9.2), and a forged MX would redirect a domain's mail
        .datagramChannelStrategy(io.netty.resolver.dns.DnsNameResolverChannelStrategy.ChannelPerResolution)
        .queryTimeoutMillis(timeoutMillis)
        .recursionDesired(true)
        .maxPayloadSize(UDP_PAYLOAD_SIZE)
        // with DNSSEC, the OPT record is ours (its DO bit set); Netty's would be a second one
        .optResourceEnabled(!options.dnssec())
        .resolveCache(NoopDnsCache.INSTANCE)
        .cnameCache(NoopDnsCnameCache.INSTANCE)
        .authoritativeDnsServerCache(NoopAuthoritativeDnsServerCache.INSTANCE)
        .build();
  }

  /** The answer for {@code name} and its TTL. Completes on the DNS thread; fails only once closed. */
  <T> Future<Answered> query(String name, RecordType<T> type) {
    Promise<Answered> promise = Promise.promise();
    try {
      loop.execute(() -> {
        if (closed) {
          promise.fail(new IllegalStateException("DNS resolver is closed"));
          return;
        }
        Lookup<T> lookup = new Lookup<>(name, type, promise);
        pending.add(lookup);
        promise.future().onComplete(done -> pending.remove(lookup));
        lookup.ask(name);
      });
    } catch (RejectedExecutionException rejected) {
      promise.fail(new IllegalStateException("DNS resolver is closed"));
    }
    return promise.future();
  }

  /** Fails the lookups under way (their callers must not wait forever) and stops the DNS thread. */
  Future<Void> close() {
    Promise<Void> promise = Promise.promise();
    try {
      loop.execute(() -> {
        closed = true;
        IllegalStateException error = new IllegalStateException("DNS resolver is closed");
        List.copyOf(pending).forEach(lookup -> lookup.promise.tryFail(error));
        pending.clear();
        resolver.close();
      });
    } catch (RejectedExecutionException alreadyClosed) {
      // closed before
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).addListener(f -> promise.tryComplete());
    return promise.future();
  }

  /** One lookup: its queries, the servers tried, the CNAMEs followed. Confined to the DNS thread. */
  private final class Lookup<T> {
    private final String name;
    private final RecordType<T> type;
    private final Promise<Answered> promise;
    private String asked;
    private DnsServerAddressStream stream;
    private int sent;
    private int hops;
    private long aliasTtl = Long.MAX_VALUE;
    /** Whether the responses that led to an alias's target said so authentically: all of them, or the answer is not. */
    private boolean aliasesAuthentic = true;

    Lookup(String name, RecordType<T> type, Promise<Answered> promise) {
      this.name = name;
      this.type = type;
      this.promise = promise;
    }

    void ask(String target) {
      asked = target;
      stream = servers.nameServerAddressStream(target);
      sent = 0;
      send();
    }

    private void send() {
      if (closed) {
        return; // failed by close()
      }
      InetSocketAddress server = stream.next();
      sent++;
      resolver.query(server, new DefaultDnsQuestion(asked, type.wire), additionals).addListener(f -> {
        if (!f.isSuccess()) {
          String reason = f.cause() instanceof DnsNameResolverTimeoutException
              ? "timed out after " + timeoutMillis + " ms" : "network error: " + f.cause().getMessage();
          retryOrFail(reason, true);
          return;
        }
        @SuppressWarnings("unchecked")
        AddressedEnvelope<DnsResponse, InetSocketAddress> envelope =
            (AddressedEnvelope<DnsResponse, InetSocketAddress>) f.getNow();
        Reading reading;
        try {
          // the AD bit crosses the network unauthenticated: believed from this machine's resolver, or if configured
          boolean trustAd = trustRemoteAd || server.getAddress() == null || server.getAddress().isLoopbackAddress();
          reading = ResponseReader.read(envelope.content(), name, asked, type, trustAd);
        } finally {
          envelope.release();
        }
        onReading(reading);
      });
    }

    private void onReading(Reading reading) {
      if (reading instanceof Redirected redirect) {
        aliasTtl = Math.min(aliasTtl, redirect.ttlSeconds());
        aliasesAuthentic &= redirect.authenticated();
        if (++hops > ResponseReader.MAX_CNAME_HOPS) {
          finish(new DnsAnswer.Unavailable<T>(name, "CNAME chain longer than " + ResponseReader.MAX_CNAME_HOPS),
              ResponseReader.UNKNOWN_TTL);
        } else {
          ask(redirect.target());
        }
        return;
      }
      Answered answered = (Answered) reading;
      if (answered.answer() instanceof DnsAnswer.Unavailable<?> failed) {
        // Another server may answer where this one failed; the same one would only fail again.
        retryOrFail(failed.reason(), false);
        return;
      }
      long ttl = answered.ttlSeconds() == ResponseReader.UNKNOWN_TTL ? answered.ttlSeconds()
          : Math.min(aliasTtl, answered.ttlSeconds());
      DnsAnswer<?> answer = aliasesAuthentic ? answered.answer() : unauthenticated(answered.answer());
      promise.tryComplete(new Answered(answer, ttl));
    }

    private void retryOrFail(String reason, boolean sameServerMayAnswer) {
      boolean untriedServer = sent < stream.size();
      // every server of the stream actually asked (dns.servers, or all of resolv.conf's) before a lookup fails
      if (sent < Math.max(attempts, stream.size()) && (sameServerMayAnswer || untriedServer)) {
        send();
      } else {
        finish(new DnsAnswer.Unavailable<T>(name, reason), ResponseReader.UNKNOWN_TTL);
      }
    }

    private void finish(DnsAnswer<T> answer, long ttl) {
      promise.tryComplete(new Answered(answer, ttl));
    }
  }

  /** {@code answer}, not authenticated: an alias on the way to it was not. */
  private static DnsAnswer<?> unauthenticated(DnsAnswer<?> answer) {
    if (answer instanceof DnsAnswer.Found<?> found && found.authenticated()) {
      return new DnsAnswer.Found<>(found.name(), found.records());
    }
    if (answer instanceof DnsAnswer.NoRecords<?> none && none.authenticated()) {
      return new DnsAnswer.NoRecords<>(none.name());
    }
    if (answer instanceof DnsAnswer.NoSuchDomain<?> none && none.authenticated()) {
      return new DnsAnswer.NoSuchDomain<>(none.name());
    }
    return answer;
  }

  /**
   * EDNS(0) (RFC 6891) with the DO bit (RFC 3225): a validating resolver then sets AD on the answers it could
   * authenticate. Netty's own OPT record has no flags to set.
   */
  private static final class DnssecOk extends io.netty.handler.codec.dns.AbstractDnsRecord
      implements io.netty.handler.codec.dns.DnsOptPseudoRecord {
    private static final int DO = 0x8000;

    DnssecOk(int payloadSize) {
      super("", io.netty.handler.codec.dns.DnsRecordType.OPT, payloadSize, DO);
    }

    @Override
    public int extendedRcode() {
      return 0;
    }

    @Override
    public int version() {
      return 0;
    }

    @Override
    public int flags() {
      return DO;
    }
  }
}
