package io.mailgate.receiving;

import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.delivery.dns.MxRecord;
import io.mailgate.receiving.SpfRecord.Mechanism;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.IDN;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * SPF (RFC 7208): {@code check_host()} for the SMTP client's address and the MAIL FROM identity (the reverse path's
 * domain; for the null reverse path, {@code postmaster@} the HELO name), with the HELO name for the {@code %{h}}
 * macro. Every mechanism and the {@code redirect} modifier are evaluated, left to right, through the node's DNS
 * resolver (asynchronous, cached), within the limits of section 4.6.4: 10 DNS-querying terms, 10 MX hosts per
 * {@code mx}, 10 names per PTR lookup, 2 lookups that find nothing, and 20 seconds in all (temperror beyond).
 *
 * <p>{@code ptr} and {@code %{p}} rest on the client's validated names (5.5): its PTR names, the first 10, whose
 * addresses include it. RFC 7208 says {@code ptr} SHOULD NOT be used, since it is slow and its DNS is the client's
 * to write, but records still have it, and a client the domain lists by name is its sender. The lookups are made
 * once per evaluation, when a {@code ptr} term or a {@code %{p}} first needs them, and never in the common case:
 * a spec without {@code %{p}} is expanded at once. Their DNS errors make no temperror: as 5.5 says, a failed PTR
 * lookup makes {@code ptr} not match (and {@code %{p}} {@code unknown}), a failed address lookup leaves that name
 * out. A macro expansion of more than {@link SpfMacro#MAX_EXPANSION} characters is a permerror. {@code exp=} is
 * ignored: Mailgate rejects nothing for SPF, so there is no explanation to show.
 *
 * <p>SES's {@code spfVerdict} from the result ({@link Result#sesStatus}): pass is PASS, fail is FAIL; softfail,
 * neutral and none are GRAY (a softfail is a "probably not" that receivers must not treat as a fail, and SES's FAIL
 * feeds filters that drop mail); temperror and permerror are PROCESSING_FAILED.
 */
public final class SpfVerdict {

  /** The results of {@code check_host()} (RFC 7208 section 2.6). */
  public enum Result {
    NONE, NEUTRAL, PASS, FAIL, SOFTFAIL, TEMPERROR, PERMERROR;

    /** SES's {@code spfVerdict.status} for this result. */
    public String sesStatus() {
      return switch (this) {
        case PASS -> DkimVerdict.PASS;
        case FAIL -> DkimVerdict.FAIL;
        case SOFTFAIL, NEUTRAL, NONE -> DkimVerdict.GRAY;
        case TEMPERROR, PERMERROR -> DkimVerdict.PROCESSING_FAILED;
      };
    }
  }

  static final int MAX_DNS_TERMS = 10;
  static final int MAX_VOID_LOOKUPS = 2;
  static final int MAX_MX_HOSTS = 10;
  /** Names of one PTR lookup that are validated; the rest are ignored (4.6.4). */
  static final int MAX_PTR_NAMES = 10;
  /** The RFC's "at least 20 seconds" for one evaluation: a slow DNS server does not hold the message longer. */
  static final Duration TIME_LIMIT = Duration.ofSeconds(20);

  private final Vertx vertx;
  private final DnsResolver dns;
  private final Duration timeLimit;

  public SpfVerdict(Vertx vertx, DnsResolver dns) {
    this(vertx, dns, TIME_LIMIT);
  }

  SpfVerdict(Vertx vertx, DnsResolver dns, Duration timeLimit) {
    this.vertx = vertx;
    this.dns = dns;
    this.timeLimit = timeLimit;
  }

  /** The domain SPF checks: the reverse path's, or the HELO name for the null reverse path (RFC 7208 2.4). */
  public static String mailFromDomain(String reversePath, String helo) {
    int at = reversePath == null ? -1 : reversePath.lastIndexOf('@');
    String domain = at < 0 ? (helo == null ? "" : helo) : reversePath.substring(at + 1);
    try {
      String ascii = IDN.toASCII(domain, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT); // SMTPUTF8: A-labels
      return ascii.endsWith(".") ? ascii.substring(0, ascii.length() - 1) : ascii; // the root's dot is no label
    } catch (IllegalArgumentException notAName) {
      return domain.toLowerCase(Locale.ROOT); // not a domain name: no SPF (check says none)
    }
  }

  /**
   * The result for a message from {@code client} (null: unknown, none) with this reverse path ({@code ""} for
   * {@code <>}) and HELO name. Never fails.
   */
  public Future<Result> check(InetAddress client, String reversePath, String helo) {
    String domain = mailFromDomain(reversePath, helo);
    if (client == null || !isDomain(domain)) {
      return Future.succeededFuture(Result.NONE); // 4.3: a malformed or single-label domain has no SPF
    }
    int at = reversePath == null ? -1 : reversePath.lastIndexOf('@');
    String local = at <= 0 ? "postmaster" : reversePath.substring(0, at);
    SpfMacro.Context context = new SpfMacro.Context(ipv4IfMapped(client), local + "@" + domain, local, domain,
        helo == null ? "" : helo, domain, null);
    Evaluation evaluation = new Evaluation(context, System.nanoTime() + timeLimit.toNanos());
    Promise<Result> result = Promise.promise();
    long timer = vertx.setTimer(timeLimit.toMillis(), t -> result.tryComplete(Result.TEMPERROR));
    checkHost(evaluation, domain).onComplete(done -> {
      vertx.cancelTimer(timer);
      if (done.succeeded()) {
        result.tryComplete(done.result());
      } else {
        // anything but an Abort is a failure of the evaluator itself: nothing was judged, as when DNS fails
        result.tryComplete(done.cause() instanceof Abort a ? a.result : Result.TEMPERROR);
      }
    });
    return result.future();
  }

  /** What one evaluation has used of its limits, across includes and redirects. */
  private static final class Evaluation {
    final SpfMacro.Context context;
    final long deadlineNanos;
    int dnsTerms;
    int voidLookups;
    /** The client's validated names, looked up when ptr or %{p} first needs them: one client throughout. */
    Future<List<String>> clientNames;

    Evaluation(SpfMacro.Context context, long deadlineNanos) {
      this.context = context;
      this.deadlineNanos = deadlineNanos;
    }
  }

  /** Ends an evaluation with temperror or permerror, from however deep in includes. */
  private static final class Abort extends RuntimeException {
    final Result result;

    Abort(Result result, String why) {
      super(why, null, false, false);
      this.result = result;
    }
  }

  /** {@code check_host()} for {@code domain} (section 4). */
  private Future<Result> checkHost(Evaluation ev, String domain) {
    if (!isDomain(domain)) {
      return Future.succeededFuture(Result.NONE);
    }
    return lookup(ev, dns::txt, domain, false).compose(txts -> {
      List<String> records = txts.stream().filter(SpfRecord::isSpf).toList();
      if (records.size() != 1) {
        return Future.succeededFuture(records.isEmpty() ? Result.NONE : Result.PERMERROR); // 4.5: several: permerror
      }
      SpfRecord record;
      try {
        record = SpfRecord.parse(records.get(0));
      } catch (IllegalArgumentException syntaxError) {
        return Future.succeededFuture(Result.PERMERROR);
      }
      return evaluate(ev, record, ev.context.at(domain), 0);
    });
  }

  /**
   * The record's terms from {@code index} on: the first that matches gives its qualifier's result; then the
   * redirect; then neutral. Terms that need no DNS are run in a loop, not in a chain of futures, so a record of
   * thousands of ip4 terms does not nest thousands of calls.
   */
  private Future<Result> evaluate(Evaluation ev, SpfRecord record, SpfMacro.Context at, int index) {
    List<Mechanism> mechanisms = record.mechanisms();
    for (int i = index; i < mechanisms.size(); i++) {
      Mechanism m = mechanisms.get(i);
      if (!m.queriesDns()) {
        if (matchesLocally(m, at.ip())) {
          return Future.succeededFuture(qualified(m.qualifier()));
        }
        continue;
      }
      if (++ev.dnsTerms > MAX_DNS_TERMS) {
        return Future.succeededFuture(Result.PERMERROR);
      }
      int next = i + 1;
      return matches(ev, m, at).compose(match -> match ? Future.succeededFuture(qualified(m.qualifier()))
          : evaluate(ev, record, at, next));
    }
    if (record.redirect() == null) {
      return Future.succeededFuture(Result.NEUTRAL);
    }
    if (++ev.dnsTerms > MAX_DNS_TERMS) {
      return Future.succeededFuture(Result.PERMERROR);
    }
    // 6.1: a redirect to a domain without an SPF record (or no domain at all) is a permerror
    return expandDomain(ev, record.redirect(), at).compose(target -> checkHost(ev, target))
        .map(r -> r == Result.NONE ? Result.PERMERROR : r);
  }

  private Future<Boolean> matches(Evaluation ev, Mechanism m, SpfMacro.Context at) {
    if (m.domainSpec() == null) {
      return matches(ev, m, at.ip(), at.domain());
    }
    return expandDomain(ev, m.domainSpec(), at).compose(target -> matches(ev, m, at.ip(), target));
  }

  private Future<Boolean> matches(Evaluation ev, Mechanism m, InetAddress ip, String target) {
    return switch (m.kind()) {
      case INCLUDE -> checkHost(ev, target).map(r -> switch (r) {
        case PASS -> true;
        case FAIL, SOFTFAIL, NEUTRAL -> false;
        case TEMPERROR -> fail(Result.TEMPERROR, "include:" + target);
        case PERMERROR, NONE -> fail(Result.PERMERROR, "include:" + target + " has no usable SPF record");
      });
      case A -> lookup(ev, addressQuery(ip), target, true).map(addresses -> anyWithin(addresses, ip, m));
      case MX -> lookup(ev, dns::mx, target, true).compose(mxs -> {
        if (mxs.size() > MAX_MX_HOSTS) {
          return fail(Result.PERMERROR, "more than " + MAX_MX_HOSTS + " MX records at " + target);
        }
        List<Future<List<InetAddress>>> hosts = new ArrayList<>();
        for (MxRecord mx : mxs) {
          if (!mx.pointsToRoot()) {
            hosts.add(lookup(ev, addressQuery(ip), mx.exchange(), false));
          }
        }
        return Future.all(hosts).map(all -> hosts.stream().anyMatch(h -> anyWithin(h.result(), ip, m)));
      });
      case EXISTS -> lookup(ev, dns::a, target, true).map(addresses -> !addresses.isEmpty());
      case PTR -> clientNames(ev).map(names -> names.stream().anyMatch(name -> SpfMacro.inDomain(name, target)));
      case ALL, IP4, IP6 -> Future.succeededFuture(matchesLocally(m, ip));
    };
  }

  /**
   * A domain-spec expanded: at once, unless it has {@code %{p}}, which waits for the client's validated names. One
   * whose expansion is out of all proportion ends the evaluation with permerror.
   */
  private Future<String> expandDomain(Evaluation ev, String spec, SpfMacro.Context at) {
    if (!SpfMacro.needsClientNames(spec)) {
      return Future.succeededFuture(expandDomain(spec, at));
    }
    return clientNames(ev).map(names -> expandDomain(spec, at.withClientNames(names)));
  }

  private static String expandDomain(String spec, SpfMacro.Context at) {
    try {
      return SpfMacro.expandDomain(spec, at);
    } catch (IllegalArgumentException tooLong) {
      throw new Abort(Result.PERMERROR, tooLong.getMessage());
    }
  }

  /**
   * The client's validated names (5.5), looked up once per evaluation: of the names in its PTR records, the first
   * {@link #MAX_PTR_NAMES}, those whose A (IPv4 client) or AAAA (IPv6) records hold its address. A DNS error is no
   * names from that lookup, not a temperror (5.5); nothing here counts as a void lookup, which 4.6.4 counts for terms.
   */
  private Future<List<String>> clientNames(Evaluation ev) {
    if (ev.clientNames == null) {
      InetAddress ip = ev.context.ip();
      ev.clientNames = lookupLeniently(ev, () -> dns.ptr(ip)).compose(names -> {
        List<String> first = names.subList(0, Math.min(names.size(), MAX_PTR_NAMES));
        List<Future<List<InetAddress>>> addresses = first.stream()
            .map(name -> lookupLeniently(ev, () -> addressQuery(ip).apply(name))).toList();
        byte[] client = ip.getAddress();
        return Future.all(addresses).map(done -> IntStream.range(0, first.size())
            .filter(i -> addresses.get(i).result().stream().anyMatch(a -> Arrays.equals(a.getAddress(), client)))
            .mapToObj(first::get).toList());
      });
    }
    return ev.clientNames;
  }

  /**
   * The records of a lookup whose DNS errors, and a name that is no domain name (a PTR record can hold anything), are
   * no records; running out of time or a closed resolver still ends the evaluation with temperror.
   */
  private <T> Future<List<T>> lookupLeniently(Evaluation ev, Supplier<Future<DnsAnswer<T>>> query) {
    if (System.nanoTime() - ev.deadlineNanos > 0) {
      return Future.failedFuture(new Abort(Result.TEMPERROR, "out of time"));
    }
    return query.get().transform(done -> done.failed() && !(done.cause() instanceof IllegalArgumentException)
        ? Future.failedFuture(new Abort(Result.TEMPERROR, String.valueOf(done.cause())))
        : Future.succeededFuture(done.succeeded() ? done.result().records() : List.<T>of()));
  }

  private Function<String, Future<DnsAnswer<InetAddress>>> addressQuery(InetAddress ip) {
    return ip instanceof Inet4Address ? dns::a : dns::aaaa;
  }

  /**
   * The records of a lookup: a DNS failure aborts with temperror; a name that is not a domain name, or one with no
   * records, is no records, and counts as a void lookup when {@code countVoid} (4.6.4).
   */
  private <T> Future<List<T>> lookup(Evaluation ev, Function<String, Future<DnsAnswer<T>>> query, String name,
      boolean countVoid) {
    if (System.nanoTime() - ev.deadlineNanos > 0) {
      return Future.failedFuture(new Abort(Result.TEMPERROR, "out of time"));
    }
    return query.apply(name).transform(done -> {
      if (done.failed()) {
        return done.cause() instanceof IllegalArgumentException ? Future.succeededFuture(List.<T>of())
            : Future.failedFuture(new Abort(Result.TEMPERROR, String.valueOf(done.cause())));
      }
      DnsAnswer<T> answer = done.result();
      if (answer instanceof DnsAnswer.Unavailable<T> u) {
        return Future.failedFuture(new Abort(Result.TEMPERROR, u.reason()));
      }
      if (answer.records().isEmpty() && countVoid && ++ev.voidLookups > MAX_VOID_LOOKUPS) {
        return Future.failedFuture(new Abort(Result.PERMERROR, "more than " + MAX_VOID_LOOKUPS + " void lookups"));
      }
      return Future.succeededFuture(answer.records());
    });
  }

  private static <T> T fail(Result result, String why) {
    throw new Abort(result, why);
  }

  private static boolean matchesLocally(Mechanism m, InetAddress ip) {
    return switch (m.kind()) {
      case ALL -> true;
      case IP4, IP6 -> within(ip, m.network(), ip instanceof Inet4Address ? m.cidr4() : m.cidr6());
      default -> false;
    };
  }

  private static boolean anyWithin(List<InetAddress> addresses, InetAddress ip, Mechanism m) {
    int length = ip instanceof Inet4Address ? m.cidr4() : m.cidr6();
    return addresses.stream().anyMatch(a -> within(ip, a, length));
  }

  /** Whether {@code ip} is in the network of {@code network}'s first {@code length} bits (same family only). */
  static boolean within(InetAddress ip, InetAddress network, int length) {
    byte[] a = ip.getAddress();
    byte[] b = network.getAddress();
    if (a.length != b.length) {
      return false;
    }
    for (int bit = 0; bit < length; bit++) {
      int mask = 0x80 >> (bit % 8);
      if ((a[bit / 8] & mask) != (b[bit / 8] & mask)) {
        return false;
      }
    }
    return true;
  }

  private static Result qualified(char qualifier) {
    return switch (qualifier) {
      case '-' -> Result.FAIL;
      case '~' -> Result.SOFTFAIL;
      case '?' -> Result.NEUTRAL;
      default -> Result.PASS;
    };
  }

  /** An IPv4-mapped IPv6 address ({@code ::ffff:192.0.2.1}, from a dual-stack socket) is the IPv4 client it is. */
  static InetAddress ipv4IfMapped(InetAddress ip) {
    byte[] b = ip.getAddress();
    if (!(ip instanceof Inet6Address) || b[10] != (byte) 0xff || b[11] != (byte) 0xff) {
      return ip;
    }
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return ip;
      }
    }
    try {
      return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
    } catch (UnknownHostException impossible) {
      throw new IllegalStateException(impossible);
    }
  }

  /** A multi-label domain name of letters, digits, hyphens and underscores (4.3): anything else has no SPF. */
  static boolean isDomain(String name) {
    String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    if (n.length() > SpfMacro.MAX_NAME || n.indexOf('.') < 0) {
      return false;
    }
    for (String label : n.split("\\.", -1)) {
      if (label.isEmpty() || label.length() > 63 || !label.chars().allMatch(c -> c < 128
          && (Character.isLetterOrDigit(c) || c == '-' || c == '_'))) {
        return false;
      }
    }
    return true;
  }
}
