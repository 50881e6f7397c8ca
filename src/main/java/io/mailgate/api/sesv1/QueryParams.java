package io.mailgate.api.sesv1;

import io.mailgate.SesException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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

  /**
   * Decodes {@code a=1&b=2} as application/x-www-form-urlencoded is (the WHATWG URL standard's): only {@code &}
   * separates pairs ({@code ;} and {@code #} are data: a {@code #} in a message body is not a URL's fragment), the
   * first {@code =} ends a name, {@code +} is a space, {@code %XX} a byte, and the bytes must be UTF-8 (a
   * {@code %FF} is refused, not read as U+FFFD). Empty pairs are skipped; a name given twice is refused.
   */
  public static QueryParams parse(String encoded) {
    NavigableMap<String, String> values = new TreeMap<>();
    int start = 0;
    int n = encoded.length();
    while (start <= n) {
      int end = encoded.indexOf('&', start);
      if (end < 0) {
        end = n;
      }
      if (end > start) {
        // the first '=' of this pair only: searched no further than its '&', or many pairs without one before a long
        // tail would each scan the tail
        int nameEnd = start;
        while (nameEnd < end && encoded.charAt(nameEnd) != '=') {
          nameEnd++;
        }
        String name = decode(encoded, start, nameEnd);
        String value = nameEnd == end ? "" : decode(encoded, nameEnd + 1, end);
        if (values.put(name, value) != null) {
          throw SesException.badRequest("Parameter " + quote(name) + " is given more than once.");
        }
        if (values.size() > MAX_PARAMETERS) {
          throw SesException.badRequest("Too many request parameters (at most " + MAX_PARAMETERS + ").");
        }
      }
      start = end + 1;
    }
    return new QueryParams(values, "");
  }

  /**
   * One name or value of a form: {@code +} a space, {@code %XX} a byte, strict UTF-8. The bytes are sized to what the
   * value can decode to (one a character, at most three for one past ASCII), not three times its length: a 40 MB raw
   * message's base64 is a 57 MB value, and mostly ASCII values become a string without a decoder's char buffer.
   */
  private static String decode(String s, int from, int to) {
    boolean plain = true;
    int beyondAscii = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        beyondAscii++;
        plain = false;
      } else if (c == '%' || c == '+') {
        plain = false;
      }
    }
    if (plain) {
      return s.substring(from, to);
    }
    byte[] bytes = new byte[to - from + 2 * beyondAscii];
    int n = 0;
    boolean ascii = beyondAscii == 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c == '+') {
        bytes[n++] = ' ';
      } else if (c == '%') {
        int hi = i + 2 < to ? Character.digit(s.charAt(i + 1), 16) : -1;
        int lo = hi < 0 ? -1 : Character.digit(s.charAt(i + 2), 16);
        if (lo < 0) {
          throw MALFORMED;
        }
        ascii &= hi < 8;
        bytes[n++] = (byte) (hi << 4 | lo);
        i += 2;
      } else if (c < 0x80) {
        bytes[n++] = (byte) c;
      } else {
        // not form-encoded, but readable: taken as the UTF-8 of what was given (a surrogate pair whole)
        int end = Character.isHighSurrogate(c) && i + 1 < to ? i + 2 : i + 1;
        byte[] utf8 = s.substring(i, end).getBytes(StandardCharsets.UTF_8);
        System.arraycopy(utf8, 0, bytes, n, utf8.length);
        n += utf8.length;
        i = end - 1;
      }
    }
    if (ascii) {
      return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
    }
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, 0, n)).toString();
    } catch (CharacterCodingException e) {
      throw MALFORMED;
    }
  }

  static final SesException MALFORMED =
      SesException.badRequest("Malformed request parameters: a %-escape or UTF-8 sequence is not valid.");

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

  /**
   * The value of {@code name}, which may be empty ({@code name=}, as SES takes an empty {@code Message.Subject.Data});
   * absent is a BadRequest naming the parameter.
   */
  public String requiredPresent(String name) {
    String v = string(name);
    if (v == null) {
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
