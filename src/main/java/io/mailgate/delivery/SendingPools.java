package io.mailgate.delivery;

import io.mailgate.config.ConfigException;
import io.mailgate.config.HeloName;
import io.netty.util.NetUtil;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The node's named delivery routes, which a configuration set chooses with SES's
 * {@code DeliveryOptions.SendingPoolName}: in SES a sending pool is a set of dedicated IP
 * addresses; in Mailgate it is a way out, straight to the MX hosts or through a given relay.
 * Configured as {@code delivery.sendingPools}: {@code name=direct} or {@code name=smtp://...}
 * entries separated by commas (a comma inside a relay password is written {@code %2C}), each optionally followed by
 * the addresses of this machine its connections leave from, SES's dedicated IPs: {@code source=192.0.2.10} or
 * {@code source=192.0.2.10/mta1.example.com} (the name it gives in EHLO from there, which should be the address's
 * PTR name), once per address, separated by spaces.
 */
public final class SendingPools {
  /** SES's pool names: letters, digits, underscores and hyphens, at most 64. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  /** A pool's route: {@code relay} is null for direct delivery; {@code sources} empty: the system chooses. */
  public record Pool(String name, DeliverySettings.Mode mode, SmtpRoute relay, List<Source> sources) {
    public Pool {
      sources = List.copyOf(sources);
    }
  }

  /**
   * A local address delivery connections are bound to, and the name they give in EHLO from it ({@code heloName} null:
   * the node's {@code delivery.heloName}).
   */
  public record Source(String address, String heloName) {
    @Override
    public String toString() {
      return heloName == null ? address : address + "/" + heloName;
    }
  }

  private final Map<String, Pool> pools;

  private SendingPools(Map<String, Pool> pools) {
    this.pools = Collections.unmodifiableMap(pools);
  }

  public static SendingPools parse(String spec) {
    Map<String, Pool> pools = new LinkedHashMap<>();
    for (String entry : spec.split(",")) {
      if (entry.isBlank()) {
        continue;
      }
      int eq = entry.indexOf('=');
      String name = eq < 0 ? entry.strip() : entry.substring(0, eq).strip();
      String[] words = eq < 0 ? new String[0] : entry.substring(eq + 1).strip().split("\\s+");
      String route = words.length == 0 ? "" : words[0];
      if (!NAME.matcher(name).matches()) {
        throw new ConfigException("delivery.sendingPools: pool name '" + name
            + "' must be 1 to 64 letters, digits, '_' or '-'");
      }
      if (route.isEmpty()) {
        throw new ConfigException("delivery.sendingPools: pool " + name + " needs a route: direct or smtp://host:port");
      }
      List<Source> sources = new ArrayList<>();
      for (int i = 1; i < words.length; i++) {
        if (!words[i].startsWith("source=")) {
          throw new ConfigException("delivery.sendingPools: pool " + name + ": '" + words[i] + "' is not source=ADDRESS"
              + " or source=ADDRESS/HELO-NAME");
        }
        sources.add(source(words[i].substring("source=".length()), "delivery.sendingPools: pool " + name));
      }
      checkDistinct(sources, "delivery.sendingPools: pool " + name);
      Pool pool = route.toLowerCase(Locale.ROOT).equals("direct")
          ? new Pool(name, DeliverySettings.Mode.DIRECT, null, sources)
          : new Pool(name, DeliverySettings.Mode.RELAY, SmtpRoute.parse(route), sources);
      if (pools.put(name, pool) != null) {
        throw new ConfigException("delivery.sendingPools: pool " + name + " is named twice");
      }
    }
    return new SendingPools(pools);
  }

  /**
   * {@code delivery.sourceAddresses}: the node's own route's sources, {@code ADDRESS} or {@code ADDRESS/HELO-NAME}
   * separated by commas or spaces; empty when the value is.
   */
  public static List<Source> sources(String spec, String setting) {
    List<Source> sources = new ArrayList<>();
    for (String word : spec.strip().split("[\\s,]+")) {
      if (!word.isEmpty()) {
        sources.add(source(word, setting));
      }
    }
    checkDistinct(sources, setting);
    return List.copyOf(sources);
  }

  /**
   * One source: an IPv4 or IPv6 address written as one (never a name to look up), neither the wildcard nor a multicast
   * address, and the EHLO name after a slash (a domain name or an address literal, as {@code delivery.heloName}).
   */
  private static Source source(String word, String setting) {
    int slash = word.indexOf('/');
    String address = slash < 0 ? word : word.substring(0, slash);
    String helo = slash < 0 ? null : word.substring(slash + 1);
    java.net.InetAddress ip = address(address);
    if (ip == null) {
      throw new ConfigException(setting + ": source '" + address + "' is not an IPv4 or IPv6 address of this machine"
          + " (written as an address, such as 192.0.2.10 or 2001:db8::10)");
    }
    if (ip.isAnyLocalAddress() || ip.isMulticastAddress()) {
      throw new ConfigException(setting + ": source '" + address + "' is " + (ip.isAnyLocalAddress()
          ? "the wildcard address (leave the source out to let the system choose)" : "a multicast address"));
    }
    String problem = helo == null ? null : HeloName.problem(helo);
    if (problem != null) {
      throw new ConfigException(setting + ": source " + address + ": EHLO name '" + helo + "' is no domain name or"
          + " address literal (RFC 5321 4.1.2): " + problem);
    }
    return new Source(NetUtil.toAddressString(ip), helo);
  }

  /**
   * {@code text} as an address when it is written as one (never looked up), without a zone; else null. An IPv4-mapped
   * IPv6 address is the IPv4 address it maps, as a socket bound to it is an IPv4 one.
   */
  static java.net.InetAddress address(String text) {
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(text);
    if (bytes == null || text.indexOf('%') >= 0) {
      return null;
    }
    try {
      return java.net.InetAddress.getByAddress(bytes);
    } catch (java.net.UnknownHostException e) {
      return null;
    }
  }

  /**
   * An address in the one form sources are kept in, whatever its spelling (2001:DB8:0::10 is 2001:db8::10,
   * ::ffff:192.0.2.10 is 192.0.2.10); null when {@code text} is not an address.
   */
  public static String canonical(String text) {
    java.net.InetAddress ip = address(text);
    return ip == null ? null : NetUtil.toAddressString(ip);
  }

  private static void checkDistinct(List<Source> sources, String setting) {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (Source s : sources) {
      if (!seen.add(s.address())) {
        throw new ConfigException(setting + ": source " + s.address() + " is named twice");
      }
    }
  }

  public List<Pool> all() {
    return List.copyOf(pools.values());
  }

  public Optional<Pool> get(String name) {
    return Optional.ofNullable(pools.get(name));
  }

  public Set<String> names() {
    return pools.keySet();
  }
}
