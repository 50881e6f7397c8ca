package io.mailgate.receiving;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * SPF's macro language (RFC 7208 section 7) in domain-specs: {@code %{ir}.%{v}._spf.%{d2}}. Checked when a record is
 * parsed (a syntax error anywhere makes the whole record a permerror, section 4.6), expanded when a term is evaluated.
 * Expansion itself does no DNS: {@code %{p}}, the client's validated name, needs PTR and address lookups, which
 * {@link SpfVerdict} makes first, and only for a spec that has it ({@link #needsClientNames}).
 */
final class SpfMacro {
  private SpfMacro() {}

  /**
   * What the macro letters stand for while one {@code check_host()} runs; {@code domain} is the one being checked.
   *
   * @param clientNames the client's validated domain names (section 5.5), in the order of its PTR records, for
   *     {@code %{p}}; null until looked up, which only a spec with {@code %{p}} waits for
   */
  record Context(InetAddress ip, String sender, String localPart, String senderDomain, String helo, String domain,
      List<String> clientNames) {
    /** The same, for the domain of an include or a redirect. */
    Context at(String other) {
      return new Context(ip, sender, localPart, senderDomain, helo, other, clientNames);
    }

    Context withClientNames(List<String> names) {
      return new Context(ip, sender, localPart, senderDomain, helo, domain, names);
    }
  }

  /** Longest domain name: a longer expansion loses labels on its left (section 7.3). */
  static final int MAX_NAME = 253;
  /**
   * Longest expansion made: far beyond any real name (a name has at most 253 characters, and a record can expand each
   * of its terms once), short enough that an expansion costs microseconds.
   */
  static final int MAX_EXPANSION = 8192;

  private static final String DELIMITERS = ".-+,/_=";

  /**
   * Checks {@code spec} as a domain-spec ({@code macro-string domain-end}): macros well formed, with letters of the
   * SPF record only (not c, r, t: those are for explanations), and ending in a macro or in a top label that is not
   * all digits (so {@code a:192.0.2.1} is an error, as the RFC's grammar has it).
   *
   * @throws IllegalArgumentException with what is wrong
   */
  static void checkDomainSpec(String spec) {
    checkMacroString(spec, false);
    int open = spec.lastIndexOf("%{");
    if (open >= 0 && spec.indexOf('}', open) == spec.length() - 1) {
      return; // ends in a macro (a '}' that closes none is a literal, and no top label ends in one)
    }
    if (spec.endsWith("%%") || spec.endsWith("%_") || spec.endsWith("%-")) {
      return;
    }
    String s = spec.endsWith(".") ? spec.substring(0, spec.length() - 1) : spec;
    int dot = s.lastIndexOf('.');
    if (dot < 0 || !isTopLabel(s.substring(dot + 1))) {
      throw new IllegalArgumentException("not a domain name: " + spec);
    }
  }

  /**
   * Checks a macro-string: visible characters, {@code %} only in macros; with {@code explanation} (an unknown
   * modifier's value, which the grammar lets use them) the letters c, r and t too.
   */
  static void checkMacroString(String spec, boolean explanation) {
    for (int i = 0; i < spec.length(); i++) {
      char c = spec.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw new IllegalArgumentException("bad character in " + spec);
      }
      if (c != '%') {
        continue;
      }
      if (i + 1 >= spec.length()) {
        throw new IllegalArgumentException("a lone % in " + spec);
      }
      char next = spec.charAt(i + 1);
      if (next == '%' || next == '_' || next == '-') {
        i++;
        continue;
      }
      int close = spec.indexOf('}', i);
      if (next != '{' || close < 0 || !isMacro(spec.substring(i + 2, close), explanation)) {
        throw new IllegalArgumentException("bad macro in " + spec);
      }
      i = close;
    }
  }

  /**
   * {@code spec} expanded (assumed checked), as a DNS name: no trailing dot, at most 253 characters, its leftmost
   * labels cut off as section 7.3 says (in one step: the first dot from which the rest fits).
   *
   * @throws IllegalArgumentException when the expansion passes {@link #MAX_EXPANSION} characters: a record written to
   *     make every message cost megabytes of string work is a permerror, not a name
   */
  static String expandDomain(String spec, Context context) {
    String name = expand(spec, context);
    if (name.endsWith(".")) {
      name = name.substring(0, name.length() - 1);
    }
    if (name.length() > MAX_NAME) {
      int dot = name.indexOf('.', name.length() - MAX_NAME - 1);
      name = name.substring((dot >= 0 ? dot : name.lastIndexOf('.')) + 1);
    }
    return name;
  }

  /**
   * {@code spec} expanded (assumed checked).
   *
   * @throws IllegalArgumentException when it passes {@link #MAX_EXPANSION} characters
   */
  static String expand(String spec, Context context) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < spec.length(); i++) {
      if (out.length() > MAX_EXPANSION) {
        throw new IllegalArgumentException("the expansion of " + spec.length() + " characters passes "
            + MAX_EXPANSION);
      }
      char c = spec.charAt(i);
      if (c != '%') {
        out.append(c);
        continue;
      }
      char next = spec.charAt(++i);
      switch (next) {
        case '%' -> out.append('%');
        case '_' -> out.append(' ');
        case '-' -> out.append("%20");
        default -> {
          int close = spec.indexOf('}', i);
          out.append(macro(spec.substring(i + 1, close), context));
          i = close;
        }
      }
    }
    return out.toString();
  }

  /** Whether a checked spec has a {@code %{p}} macro, so its expansion needs the client's validated names. */
  static boolean needsClientNames(String spec) {
    for (int i = spec.indexOf('%'); i >= 0 && i + 2 < spec.length(); i = spec.indexOf('%', i + 2)) {
      // %% is a literal '%' (skipped with its pair); %{ opens a macro, its letter right after
      if (spec.charAt(i + 1) == '{' && (spec.charAt(i + 2) == 'p' || spec.charAt(i + 2) == 'P')) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code name} is {@code domain} or a name below it (both without a trailing dot), in any case. */
  static boolean inDomain(String name, String domain) {
    return name.equalsIgnoreCase(domain) || (name.length() > domain.length()
        && name.charAt(name.length() - domain.length() - 1) == '.'
        && name.regionMatches(true, name.length() - domain.length(), domain, 0, domain.length()));
  }

  /** One {@code %{...}} body: a letter, an optional count of parts, optional {@code r}, optional delimiters. */
  private static boolean isMacro(String body, boolean explanation) {
    String letters = explanation ? "slodiphvcrtSLODIPHVCRT" : "slodiphvSLODIPHV";
    if (body.isEmpty() || letters.indexOf(body.charAt(0)) < 0) {
      return false;
    }
    int i = 1;
    int digits = 0;
    while (i < body.length() && Character.isDigit(body.charAt(i))) {
      i++;
      digits++;
    }
    if (digits > 0 && body.substring(1, i).chars().allMatch(d -> d == '0')) {
      return false; // the count of parts must be nonzero
    }
    if (i < body.length() && (body.charAt(i) == 'r' || body.charAt(i) == 'R')) {
      i++;
    }
    for (; i < body.length(); i++) {
      if (DELIMITERS.indexOf(body.charAt(i)) < 0) {
        return false;
      }
    }
    return true;
  }

  private static String macro(String body, Context context) {
    char letter = body.charAt(0);
    int i = 1;
    while (i < body.length() && Character.isDigit(body.charAt(i))) {
      i++;
    }
    // leading zeros are allowed (%{d0001} is one part); more parts than a name can have is as good as all of them
    String count = body.substring(1, i).replaceFirst("^0+", "");
    int keep = i == 1 || count.length() > 3 ? Integer.MAX_VALUE : Integer.parseInt(count);
    boolean reverse = i < body.length() && (body.charAt(i) == 'r' || body.charAt(i) == 'R');
    String delimiters = body.substring(reverse ? i + 1 : i);
    String value = value(Character.toLowerCase(letter), context);
    List<String> parts = split(value, delimiters.isEmpty() ? "." : delimiters);
    if (reverse) {
      Collections.reverse(parts);
    }
    String joined = String.join(".", parts.subList(Math.max(0, parts.size() - keep), parts.size()));
    return Character.isUpperCase(letter) ? urlEscape(joined) : joined;
  }

  private static String value(char letter, Context c) {
    return switch (letter) {
      case 's' -> c.sender();
      case 'l' -> c.localPart();
      case 'o' -> c.senderDomain();
      case 'd' -> c.domain();
      case 'i' -> dotted(c.ip());
      case 'p' -> clientName(c);
      case 'v' -> c.ip() instanceof Inet4Address ? "in-addr" : "ip6";
      case 'h' -> c.helo();
      default -> throw new IllegalArgumentException("macro letter " + letter);
    };
  }

  /**
   * Section 7.3: the domain itself if validated, else a validated name below it, else any validated name; "unknown"
   * when none is (no PTR records, none that maps back to the client, or DNS errors).
   */
  private static String clientName(Context c) {
    List<String> names = c.clientNames();
    if (names == null) {
      throw new IllegalStateException("%{p} expanded before the client's names were looked up");
    }
    return names.stream().filter(n -> n.equalsIgnoreCase(c.domain())).findFirst()
        .or(() -> names.stream().filter(n -> inDomain(n, c.domain())).findFirst())
        .orElse(names.isEmpty() ? "unknown" : names.get(0));
  }

  private static List<String> split(String value, String delimiters) {
    List<String> parts = new ArrayList<>();
    int start = 0;
    for (int i = 0; i <= value.length(); i++) {
      if (i == value.length() || delimiters.indexOf(value.charAt(i)) >= 0) {
        parts.add(value.substring(start, i));
        start = i + 1;
      }
    }
    return parts;
  }

  /** IPv4 as dotted quad; IPv6 as 32 dot-separated nibbles (section 7.3). */
  static String dotted(InetAddress ip) {
    byte[] b = ip.getAddress();
    StringBuilder out = new StringBuilder();
    for (byte x : b) {
      if (b.length == 4) {
        out.append(out.isEmpty() ? "" : ".").append(x & 0xff);
      } else {
        out.append(out.isEmpty() ? "" : ".").append(Character.forDigit((x >> 4) & 0xf, 16)).append('.')
            .append(Character.forDigit(x & 0xf, 16));
      }
    }
    return out.toString();
  }

  private static String urlEscape(String s) {
    StringBuilder out = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0) {
        out.append(c);
      } else {
        out.append('%').append(String.format(Locale.ROOT, "%02X", b & 0xff));
      }
    }
    return out.toString();
  }

  private static boolean isTopLabel(String label) {
    if (label.isEmpty() || !label.chars().allMatch(ch -> ch < 128 && (Character.isLetterOrDigit(ch) || ch == '-'))) {
      return false;
    }
    if (label.startsWith("-") || label.endsWith("-")) {
      return false;
    }
    return label.contains("-") || label.chars().anyMatch(Character::isLetter);
  }
}
