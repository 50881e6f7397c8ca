package io.mailgate.feedback;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The "name: value" field blocks of message/delivery-status and message/feedback-report bodies
 * (RFC 3464 section 2, RFC 5965 section 3), read leniently: folded lines are unfolded, lines that
 * are not fields are skipped, and blank lines separate groups.
 */
final class ReportFields {

  record Field(String name, String value) {
    boolean is(String other) {
      return name.equalsIgnoreCase(other);
    }
  }

  private ReportFields() {}

  /** Groups of fields as separated by blank lines; empty groups are dropped. */
  static List<List<Field>> groups(String text) {
    List<List<Field>> groups = new ArrayList<>();
    List<Field> current = new ArrayList<>();
    String name = null;
    StringBuilder value = new StringBuilder();
    for (String line : text.split("\n", -1)) {
      String l = stripCr(line);
      if (l.isBlank()) {
        if (name != null) {
          current.add(new Field(name, value.toString().strip()));
          name = null;
        }
        if (!current.isEmpty()) {
          groups.add(current);
          current = new ArrayList<>();
        }
        continue;
      }
      if ((l.charAt(0) == ' ' || l.charAt(0) == '\t') && name != null) {
        value.append(' ').append(l.strip());
        continue;
      }
      int colon = l.indexOf(':');
      if (name != null) {
        current.add(new Field(name, value.toString().strip()));
        name = null;
      }
      if (colon > 0 && isFieldName(l.substring(0, colon))) {
        name = l.substring(0, colon).strip();
        value.setLength(0);
        value.append(l.substring(colon + 1));
      }
    }
    if (name != null) {
      current.add(new Field(name, value.toString().strip()));
    }
    if (!current.isEmpty()) {
      groups.add(current);
    }
    return groups;
  }

  static List<Field> all(String text) {
    List<Field> fields = new ArrayList<>();
    groups(text).forEach(fields::addAll);
    return fields;
  }

  static String first(List<Field> fields, String name) {
    for (Field f : fields) {
      if (f.is(name) && !f.value().isEmpty()) {
        return f.value();
      }
    }
    return null;
  }

  static List<String> every(List<Field> fields, String name) {
    List<String> values = new ArrayList<>();
    for (Field f : fields) {
      if (f.is(name) && !f.value().isEmpty()) {
        values.add(f.value());
      }
    }
    return values;
  }

  /** Drops an RFC 3464 type prefix such as {@code rfc822;}, {@code dns;} or {@code smtp;}. */
  static String withoutType(String value) {
    if (value == null) {
      return null;
    }
    int semi = value.indexOf(';');
    String v = value;
    if (semi >= 0 && semi < 20 && value.substring(0, semi).strip().matches("[A-Za-z0-9][A-Za-z0-9._+-]*")) {
      v = value.substring(semi + 1);
    }
    v = v.strip();
    return v.isEmpty() ? null : v;
  }

  static String typeOf(String value) {
    if (value == null) {
      return null;
    }
    int semi = value.indexOf(';');
    return semi > 0 ? value.substring(0, semi).strip().toLowerCase(Locale.ROOT) : null;
  }

  private static boolean isFieldName(String s) {
    if (s.isEmpty() || s.length() > 40) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(Character.isLetterOrDigit(c) || c == '-' || c == '_')) {
        return false;
      }
    }
    return true;
  }

  static String stripCr(String line) {
    return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
  }
}
