package io.mailgate.receiving;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An SPF record (RFC 7208 sections 4.5, 4.6 and 12), parsed whole before anything is evaluated: a syntax error
 * anywhere is a permerror, whatever a matching term before it would have said (4.6).
 *
 * @param mechanisms in the record's order
 * @param redirect the {@code redirect=} domain-spec, or null ({@code exp=} is checked and dropped: nothing is
 *     rejected, so no explanation is ever shown)
 */
record SpfRecord(List<Mechanism> mechanisms, String redirect) {

  enum Kind { ALL, INCLUDE, A, MX, PTR, IP4, IP6, EXISTS }

  /**
   * One mechanism.
   *
   * @param qualifier {@code + - ~ ?}
   * @param domainSpec the target's domain-spec, or null for the current domain (a, mx, ptr) or none (all, ip4, ip6)
   * @param network the ip4 or ip6 network's address, or null
   * @param cidr4 prefix length for IPv4 clients (a, mx, ip4)
   * @param cidr6 prefix length for IPv6 clients (a, mx, ip6)
   */
  record Mechanism(char qualifier, Kind kind, String domainSpec, InetAddress network, int cidr4, int cidr6) {
    /** Counted in the limit of 10 DNS-querying terms (4.6.4). */
    boolean queriesDns() {
      return kind == Kind.INCLUDE || kind == Kind.A || kind == Kind.MX || kind == Kind.PTR || kind == Kind.EXISTS;
    }
  }

  private static final Pattern MODIFIER = Pattern.compile("([A-Za-z][A-Za-z0-9._-]*)=(.*)");
  private static final Pattern MECHANISM = Pattern.compile("([+?~-]?)([A-Za-z][A-Za-z0-9._-]*)(.*)");
  /** The argument of a or mx: an optional {@code :domain-spec}, then optional {@code /cidr4} and {@code //cidr6}. */
  private static final Pattern DUAL_CIDR = Pattern.compile("(?::(.+?))?(?:/(\\d+))?(?://(\\d+))?");
  private static final Pattern IP_CIDR = Pattern.compile(":([^/]+)(?:/(\\d+))?");
  private static final Pattern IP4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
  /** Longest IPv6 literal: eight groups, or six and an IPv4 dotted quad (RFC 4291 2.2). */
  private static final int MAX_IP6_LITERAL = 45;

  /** A TXT record is an SPF record when it starts with {@code v=spf1} followed by a space or nothing (4.5). */
  static boolean isSpf(String txt) {
    return txt.regionMatches(true, 0, "v=spf1", 0, 6) && (txt.length() == 6 || txt.charAt(6) == ' ');
  }

  /**
   * Parses an SPF record ({@link #isSpf} holds).
   *
   * @throws IllegalArgumentException on a syntax error: the record is a permerror
   */
  static SpfRecord parse(String txt) {
    List<Mechanism> mechanisms = new ArrayList<>();
    String redirect = null;
    boolean exp = false;
    for (String term : txt.substring(6).split(" ")) {
      if (term.isEmpty()) {
        continue; // terms are separated by one or more spaces
      }
      Matcher modifier = MODIFIER.matcher(term);
      if (modifier.matches()) {
        String name = modifier.group(1).toLowerCase(Locale.ROOT);
        String value = modifier.group(2);
        if (name.equals("redirect") || name.equals("exp")) {
          if (name.equals("redirect") ? redirect != null : exp) {
            throw new IllegalArgumentException("two " + name + " modifiers");
          }
          SpfMacro.checkDomainSpec(value);
          if (name.equals("redirect")) {
            redirect = value;
          } else {
            exp = true;
          }
        } else {
          SpfMacro.checkMacroString(value, true); // unknown modifiers are ignored, but must be well formed
        }
        continue;
      }
      Matcher m = MECHANISM.matcher(term);
      if (!m.matches()) {
        throw new IllegalArgumentException("not a term: " + term);
      }
      mechanisms.add(mechanism(m.group(1).isEmpty() ? '+' : m.group(1).charAt(0),
          m.group(2).toLowerCase(Locale.ROOT), m.group(3)));
    }
    return new SpfRecord(List.copyOf(mechanisms), redirect);
  }

  private static Mechanism mechanism(char qualifier, String name, String argument) {
    switch (name) {
      case "all" -> {
        require(argument.isEmpty(), "all takes no argument");
        return new Mechanism(qualifier, Kind.ALL, null, null, 0, 0);
      }
      case "include", "exists" -> {
        require(argument.startsWith(":"), name + " needs a domain");
        SpfMacro.checkDomainSpec(argument.substring(1));
        return new Mechanism(qualifier, name.equals("include") ? Kind.INCLUDE : Kind.EXISTS, argument.substring(1),
            null, 0, 0);
      }
      case "ptr" -> {
        require(argument.isEmpty() || argument.startsWith(":"), "bad ptr");
        String spec = argument.isEmpty() ? null : argument.substring(1);
        if (spec != null) {
          SpfMacro.checkDomainSpec(spec);
        }
        return new Mechanism(qualifier, Kind.PTR, spec, null, 0, 0);
      }
      case "a", "mx" -> {
        Matcher m = DUAL_CIDR.matcher(argument);
        require(m.matches(), "bad " + name + ": " + argument);
        if (m.group(1) != null) {
          SpfMacro.checkDomainSpec(m.group(1));
        }
        return new Mechanism(qualifier, name.equals("a") ? Kind.A : Kind.MX, m.group(1), null,
            cidr(m.group(2), 32), cidr(m.group(3), 128));
      }
      case "ip4", "ip6" -> {
        Matcher m = IP_CIDR.matcher(argument);
        require(m.matches(), "bad " + name + ": " + argument);
        boolean v4 = name.equals("ip4");
        require(v4 ? IP4.matcher(m.group(1)).matches() : isIp6Literal(m.group(1)), "bad address: " + m.group(1));
        InetAddress network;
        try {
          network = InetAddress.getByName(m.group(1)); // an address literal, checked above: no lookup
        } catch (UnknownHostException e) {
          throw new IllegalArgumentException("bad address: " + m.group(1));
        }
        if (!v4 && network instanceof Inet4Address mapped) {
          // ::ffff:a.b.c.d, which Java gives as IPv4: kept as the IPv6 network written (an IPv4 client is matched
          // by ip4 terms only, RFC 7208 5), not a syntax error
          network = ipv4Mapped(mapped);
        }
        require(network.getAddress().length == (v4 ? 4 : 16), "bad address: " + m.group(1));
        int length = cidr(m.group(2), v4 ? 32 : 128);
        return new Mechanism(qualifier, v4 ? Kind.IP4 : Kind.IP6, null, network, length, length);
      }
      default -> throw new IllegalArgumentException("unknown mechanism: " + name);
    }
  }

  /**
   * Whether {@code s} can be an IPv6 literal, checked without a regular expression (a pattern with two unbounded
   * classes backtracks for seconds on a long record of colons): short, hex digits, colons and dots only, with a
   * colon, starting as {@link InetAddress#getByName} parses a literal rather than looks a name up.
   */
  static boolean isIp6Literal(String s) {
    if (s.isEmpty() || s.length() > MAX_IP6_LITERAL || s.indexOf(':') < 0
        || !(s.charAt(0) == ':' || Character.digit(s.charAt(0), 16) >= 0)) {
      return false;
    }
    return s.chars().allMatch(c -> c == ':' || c == '.' || Character.digit(c, 16) >= 0 && c < 128);
  }

  private static InetAddress ipv4Mapped(Inet4Address ip) {
    byte[] b = new byte[16];
    b[10] = (byte) 0xff;
    b[11] = (byte) 0xff;
    System.arraycopy(ip.getAddress(), 0, b, 12, 4);
    try {
      return Inet6Address.getByAddress(null, b, null);
    } catch (UnknownHostException impossible) {
      throw new IllegalStateException(impossible);
    }
  }

  /** A prefix length: absent means the whole address; no leading zeros, at most {@code max}. */
  private static int cidr(String digits, int max) {
    if (digits == null) {
      return max;
    }
    require(digits.length() <= 3 && (digits.equals("0") || !digits.startsWith("0")), "bad prefix length " + digits);
    int length = Integer.parseInt(digits);
    require(length <= max, "prefix length " + length + " over " + max);
    return length;
  }

  private static void require(boolean condition, String error) {
    if (!condition) {
      throw new IllegalArgumentException(error);
    }
  }
}
