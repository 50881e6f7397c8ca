package io.mailgate.delivery;

import io.mailgate.config.ConfigException;
import io.mailgate.config.MailgateConfig;
import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.mailgate.metrics.Metrics;
import io.mailgate.store.Database;
import io.mailgate.store.IpListingStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Pool;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Looks the node's sending addresses (SES's dedicated IPs: {@code delivery.sourceAddresses} and the sending pools'
 * sources) up in the DNS blocklists of {@code delivery.blocklists} (RFC 5782), each pair every
 * {@code delivery.blocklistCheckSeconds} by one node of those that send from it (a claim in {@code ip_listings}),
 * and keeps what it finds for GetBlacklistReports: listed since when it was first found so, with the blocklist's TXT
 * record. A listing, and its end, is logged. An answer that is no listing (the 127.255.255.x codes a blocklist answers
 * a query it refuses, an address outside 127/8 from a resolver that rewrites NXDOMAIN) or no answer changes nothing.
 * One instance per node, deployed when there is a zone and an address. Ours: no library queries DNSBLs for this.
 */
public final class BlocklistVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(BlocklistVerticle.class.getName());
  static final long FIRST_CHECK_MILLIS = 2_000;
  /** A blocklist's TXT record is kept up to this many characters. */
  static final int MAX_DESCRIPTION = 500;

  private final MailgateConfig config;
  private final Clock clock;
  private final DnsResolver dns;
  private List<String> addresses;
  private List<String> zones;
  private Pool db;
  private IpListingStore store;
  private long timer = -1;
  private boolean running;

  public BlocklistVerticle(MailgateConfig config, Clock clock, DnsResolver dns) {
    this.config = config;
    this.clock = clock;
    this.dns = dns;
  }

  /** Whether the node has blocklists to look its sending addresses up in, and addresses to look up. */
  public static boolean wanted(MailgateConfig config) {
    return !zones(config).isEmpty() && !addresses(config).isEmpty();
  }

  /** {@code delivery.blocklists}: DNS zones, lower case, each once; a ConfigException for one that is not a name. */
  public static List<String> zones(MailgateConfig config) {
    Set<String> out = new LinkedHashSet<>();
    for (String z : config.get(MailgateConfig.DELIVERY_BLOCKLISTS).split("[,\\s]+")) {
      String zone = z.strip().toLowerCase(Locale.ROOT);
      zone = zone.endsWith(".") ? zone.substring(0, zone.length() - 1) : zone;
      if (zone.isEmpty()) {
        continue;
      }
      if (!zone.matches("[a-z0-9_]([a-z0-9_-]{0,62})(\\.[a-z0-9_]([a-z0-9_-]{0,62}))+") || zone.length() > 200) {
        throw new ConfigException(MailgateConfig.DELIVERY_BLOCKLISTS.path() + " (" + MailgateConfig.DELIVERY_BLOCKLISTS
            .envName() + "): '" + z.strip() + "' is not a DNS zone (zen.spamhaus.org, say)");
      }
      out.add(zone);
    }
    return List.copyOf(out);
  }

  /** The node's sending addresses, each once: its own route's sources, then the sending pools'. */
  public static List<String> addresses(MailgateConfig config) {
    Set<String> out = new LinkedHashSet<>();
    DeliveryVerticle.sourceAddresses(config).forEach(s -> out.add(s.address()));
    SendingPools.parse(config.get(MailgateConfig.DELIVERY_SENDING_POOLS)).all()
        .forEach(p -> p.sources().forEach(s -> out.add(s.address())));
    return List.copyOf(out);
  }

  /** The name {@code address} is looked up as in {@code zone} (RFC 5782 2.1, 2.4): its octets or nibbles reversed. */
  static String queryName(String address, String zone) {
    InetAddress ip = SendingPools.address(address);
    byte[] bytes = ip.getAddress();
    StringBuilder name = new StringBuilder(80);
    for (int i = bytes.length - 1; i >= 0; i--) {
      int b = bytes[i] & 0xff;
      if (ip instanceof Inet4Address) {
        name.append(b).append('.');
      } else {
        name.append(Character.forDigit(b & 0xf, 16)).append('.').append(Character.forDigit(b >> 4, 16)).append('.');
      }
    }
    return name.append(zone).toString();
  }

  @Override
  public Future<?> start() {
    addresses = addresses(config);
    zones = zones(config);
    db = Database.pool(vertx, config, 1);
    store = new IpListingStore(db);
    long every = config.get(MailgateConfig.DELIVERY_BLOCKLIST_CHECK_SECONDS) * 1000L;
    timer = vertx.setPeriodic(FIRST_CHECK_MILLIS, every, t -> check());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return db.close();
  }

  private void check() {
    if (running) {
      return;
    }
    running = true;
    List<String[]> pairs = new ArrayList<>();
    for (String address : addresses) {
      for (String zone : zones) {
        pairs.add(new String[] {address, zone});
      }
    }
    // then what every node found, for the metrics: the same on each node
    check(pairs, 0)
        .compose(v -> store.listings(addresses))
        .onSuccess(found -> {
          Map<String, Long> since = new HashMap<>();
          found.forEach((address, listings) -> listings.forEach(l -> since.put(address + " " + l.zone(),
              l.listedAt().getEpochSecond())));
          Metrics.of(vertx).blocklistListings(since);
        })
        .onComplete(ar -> running = false);
  }

  /** Looks the pairs from the {@code next}th on up, one after the other, each that is due and not taken. */
  private Future<Void> check(List<String[]> pairs, int next) {
    if (next == pairs.size()) {
      return Future.succeededFuture();
    }
    String address = pairs.get(next)[0];
    String zone = pairs.get(next)[1];
    Instant now = clock.instant();
    // nine tenths: a timer firing a little early must not find the last look-up too recent
    Instant notSince = now.minusMillis(config.get(MailgateConfig.DELIVERY_BLOCKLIST_CHECK_SECONDS) * 900L);
    return store.claim(address, zone, now, notSince)
        .compose(claimed -> claimed.isEmpty() ? Future.<Void>succeededFuture()
            : lookUp(address, zone).compose(found -> record(address, zone, claimed.get().since(), found)))
        .recover(e -> {
          LOG.warning("cannot look " + address + " up in " + zone + " (next time): " + e.getMessage());
          return Future.succeededFuture();
        })
        .compose(v -> check(pairs, next + 1));
  }

  /** What a look-up found: listed (with the blocklist's words), not listed, or nothing to go by (a reason). */
  record Found(boolean listed, String description, String unknown) {
    static final Found CLEAR = new Found(false, null, null);
  }

  Future<Found> lookUp(String address, String zone) {
    String name = queryName(address, zone);
    return dns.a(name).compose(answer -> {
      if (answer instanceof DnsAnswer.Unavailable<InetAddress> u) {
        return Future.succeededFuture(new Found(false, null, u.reason()));
      }
      if (!(answer instanceof DnsAnswer.Found<InetAddress>)) {
        return Future.succeededFuture(Found.CLEAR);
      }
      List<String> codes = new ArrayList<>();
      List<String> refusals = new ArrayList<>();
      List<String> others = new ArrayList<>();
      for (InetAddress a : answer.records()) {
        byte[] b = a.getAddress();
        boolean loopback = b.length == 4 && b[0] == 127;
        boolean refusal = loopback && (b[1] & 0xff) == 255 && (b[2] & 0xff) == 255;
        (refusal ? refusals : loopback ? codes : others).add(a.getHostAddress());
      }
      if (codes.isEmpty()) {
        return Future.succeededFuture(new Found(false, null, !refusals.isEmpty()
            ? "the blocklist refused the query (" + String.join(", ", refusals) + ": through a public resolver, or "
                + "too many queries)"
            : "answered " + String.join(", ", others) + ", no blocklist's 127.0.0.x (a resolver rewriting NXDOMAIN?)"));
      }
      return dns.txt(name).map(txt -> txt.records().isEmpty() ? null : txt.records().get(0)).otherwise((String) null)
          .map(txt -> new Found(true, describe(codes, txt), null));
    });
  }

  /** The listing's description: the blocklist's TXT record without control characters, or its answer's codes. */
  static String describe(List<String> codes, String txt) {
    String text = txt == null ? "" : txt.replaceAll("\\p{Cntrl}", " ").strip();
    if (text.isEmpty()) {
      return "Listed (" + String.join(", ", codes) + ")";
    }
    return text.length() > MAX_DESCRIPTION ? text.substring(0, MAX_DESCRIPTION) : text;
  }

  private Future<Void> record(String address, String zone, Instant wasListedSince, Found found) {
    if (found.unknown() != null) {
      LOG.warning("cannot tell whether " + address + " is listed in " + zone + ": " + found.unknown());
      return Future.succeededFuture();
    }
    if (found.listed()) {
      return store.listed(address, zone, found.description(), clock.instant()).map(since -> {
        if (wasListedSince == null) {
          LOG.warning("sending address " + address + " is listed in " + zone + ": " + found.description()
              + " (mail from it may be refused or filed as spam; GetBlacklistReports shows it)");
        }
        return null;
      });
    }
    if (wasListedSince != null) {
      LOG.info("sending address " + address + " is no longer listed in " + zone + " (listed since " + wasListedSince
          + ", " + Duration.between(wasListedSince, clock.instant()).toHours() + " hours)");
    }
    return store.clear(address, zone);
  }
}
