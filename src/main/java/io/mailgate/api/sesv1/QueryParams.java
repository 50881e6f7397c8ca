package io.mailgate.api.sesv1;

import io.mailgate.SesException;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The parameters of an AWS Query request (SES v1): {@code application/x-www-form-urlencoded} pairs from the body of a
 * POST, or from the query string of a GET. Structures are flattened into dotted names ({@code Message.Body.Text.Data})
 * and lists into numbered members ({@code Destination.ToAddresses.member.1}, {@code Tags.member.2.Name}), as the
 * SDKs write them. A name given twice is refused rather than one value silently winning, and so is a list member
 * after a gap, which would otherwise be dropped without a word.
 *
 * <p>The names are kept sorted, so that a structure or a list is a range of them: every lookup costs a logarithm of
 * the parameter count and the size of what it reads, however many parameters a request carries.
 */
public final class QueryParams {
  /** A bulk send names up to 50 destinations of up to 50 addresses each, plus tags: room for all, and a bound. */
  static final int MAX_PARAMETERS = 10_000;
  /** Longest parameter name quoted in an error message. */
  private static final int QUOTED = 80;

  private final NavigableMap<String, String> values;
  private final String prefix;

  private QueryParams(NavigableMap<String, String> values, String prefix) {
    this.values = values;
    this.prefix = prefix;
  }

  /** Decodes {@code a=1&b=2} (UTF-8, {@code +} as space), as a form body or a query string. */
  public static QueryParams parse(String encoded) {
    Map<String, List<String>> decoded;
    try {
      // a ';' is data, not a separator: only '&' separates form pairs
      decoded = new QueryStringDecoder(encoded, StandardCharsets.UTF_8, false, MAX_PARAMETERS + 1, true).parameters();
    } catch (IllegalArgumentException e) {
      // Netty's message quotes the whole input: not something to send back
      throw SesException.badRequest("Malformed request parameters: a %-escape or UTF-8 sequence is not valid.");
    }
    if (decoded.size() > MAX_PARAMETERS) {
      throw SesException.badRequest("Too many request parameters (at most " + MAX_PARAMETERS + ").");
    }
    NavigableMap<String, String> values = new TreeMap<>();
    for (Map.Entry<String, List<String>> e : decoded.entrySet()) {
      if (e.getValue().size() != 1) {
        throw SesException.badRequest("Parameter " + quote(e.getKey()) + " is given " + e.getValue().size() + " times.");
      }
      values.put(e.getKey(), e.getValue().get(0));
    }
    return new QueryParams(values, "");
  }

  /** The value of {@code name} under this view's prefix, or null when absent. */
  public String string(String name) {
    return values.get(prefix + name);
  }

  /** The value of {@code name}; absent or empty is a BadRequest naming the parameter. */
  public String required(String name) {
    String v = string(name);
    if (v == null || v.isEmpty()) {
      throw SesException.badRequest("Missing required parameter " + prefix + name + ".");
    }
    return v;
  }

  /** Whether {@code name} is given, as a value or as a structure (any parameter under {@code name.}). */
  public boolean has(String name) {
    String full = prefix + name;
    return values.containsKey(full) || !under(full + ".").isEmpty();
  }

  /** A structure: the parameters under {@code name.}. */
  public QueryParams struct(String name) {
    return new QueryParams(values, prefix + name + ".");
  }

  /**
   * A list of strings: {@code name.member.1}, {@code name.member.2}, ...; null when the list is not given at all (an
   * empty list is given as {@code name=}, as boto3 writes it).
   */
  public List<String> strings(String name) {
    String base = prefix + name + ".member.";
    int n = members(base);
    List<String> out = new ArrayList<>(n);
    for (int i = 1; i <= n; i++) {
      String v = values.get(base + i);
      if (v == null) {
        throw SesException.badRequest("List parameter " + quote(base + i) + " is a structure, not a value.");
      }
      out.add(v);
    }
    return out.isEmpty() && !has(name) ? null : out;
  }

  /** A list of structures: the parameters under {@code name.member.1.}, {@code name.member.2.}, ... */
  public List<QueryParams> structs(String name) {
    String base = prefix + name + ".member.";
    int n = members(base);
    List<QueryParams> out = new ArrayList<>(n);
    for (int i = 1; i <= n; i++) {
      out.add(new QueryParams(values, base + i + "."));
    }
    return out;
  }

  /** The parameter path of {@code name} under this view, for error messages. */
  public String path(String name) {
    return prefix + name;
  }

  /** The parameters whose names start with {@code start}. */
  private NavigableMap<String, String> under(String start) {
    return values.subMap(start, true, start + Character.MAX_VALUE, false);
  }

  /** How many members the list at {@code base} has, numbered 1 to n without gaps (anything else is refused). */
  private int members(String base) {
    java.util.BitSet seen = new java.util.BitSet();
    for (String k : under(base).keySet()) {
      String rest = k.substring(base.length());
      int dot = rest.indexOf('.');
      String number = dot < 0 ? rest : rest.substring(0, dot);
      int i;
      try {
        i = number.length() > 5 ? -1 : Integer.parseInt(number);
      } catch (NumberFormatException e) {
        i = -1;
      }
      if (i < 1 || i > MAX_PARAMETERS || !number.equals(Integer.toString(i))) { // member.01 would alias member.1
        throw SesException.badRequest("Malformed list parameter " + quote(k) + ".");
      }
      seen.set(i);
    }
    int n = seen.cardinality();
    if (n > 0 && (seen.nextClearBit(1) != n + 1)) {
      throw SesException.badRequest("The members of list parameter " + quote(base.substring(0, base.length() - 8))
          + " must be numbered from 1 without gaps.");
    }
    return n;
  }

  /** Input quoted in an error message: cut at a length, control characters shown as '?'. */
  static String quote(String name) {
    String s = name.length() > QUOTED ? name.substring(0, QUOTED) + "..." : name;
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      b.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return b.toString();
  }
}
