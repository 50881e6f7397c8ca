package io.mailgate.config;

import java.net.IDN;

/**
 * What EHLO and HELO may name (RFC 5321 4.1.1.1, 4.1.2, 4.1.3): a {@code Domain} (labels of letters, digits and
 * hyphens apart by dots, none starting or ending with a hyphen, at most 63 characters each and 255 in all) or an
 * {@code address-literal} ({@code [192.0.2.1]}, {@code [IPv6:2001:db8::1]}; IPv6 is the only registered tag). The
 * command line is ASCII whatever the server offers: an internationalized name goes in its A-label form.
 */
public final class HeloName {
  private HeloName() {}

  /** Why {@code name} is neither a domain nor an address literal, or null when it is one. */
  public static String problem(String name) {
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c > 0x7f) {
        return "it has a character beyond ASCII (U+" + String.format("%04X", (int) c) + ")" + aLabelForm(name);
      }
    }
    if (name.startsWith("[")) {
      return addressLiteral(name) ? null
          : "it is no IPv4 or IPv6 address literal (such as [192.0.2.1] or [IPv6:2001:db8::1])";
    }
    if (name.length() > 255) {
      return "it is longer than 255 characters";
    }
    String[] labels = name.split("\\.", -1);
    String last = labels[labels.length - 1];
    if (!last.isEmpty() && last.chars().allMatch(c -> c >= '0' && c <= '9')) {
      // no top-level domain is all digits (RFC 1123 2.1): 192.0.2.1 is an address, which goes in brackets
      return "its last label is all digits: an address is written as an address literal, such as [192.0.2.1]";
    }
    for (String label : labels) {
      if (label.isEmpty()) {
        return "it has an empty label (a dot at its start or end, or two dots together)";
      }
      if (label.length() > 63) {
        return "its label '" + label + "' is longer than 63 characters";
      }
      for (int i = 0; i < label.length(); i++) {
        char c = label.charAt(i);
        if (!(letterOrDigit(c) || c == '-')) {
          return "it has " + (c < 0x21 || c == 0x7f ? "a space or control character (U+" + String.format("%04X", (int) c)
              + ")" : "'" + c + "'") + ", which a domain name may not have (only letters, digits and hyphens)";
        }
      }
      if (label.startsWith("-") || label.endsWith("-")) {
        return "its label '" + label + "' starts or ends with a hyphen";
      }
    }
    return null;
  }

  /** {@code [} IPv4 {@code ]} (four numbers of at most three digits, 0 to 255), or {@code [IPv6:} IPv6 {@code ]}. */
  private static boolean addressLiteral(String s) {
    if (s.length() < 3 || !s.endsWith("]")) {
      return false;
    }
    String inside = s.substring(1, s.length() - 1);
    if (inside.regionMatches(true, 0, "IPv6:", 0, 5)) {
      String address = inside.substring(5);
      for (int i = 0; i < address.length(); i++) {
        char c = address.charAt(i);
        if (!(Character.digit(c, 16) >= 0 || c == ':' || c == '.')) {
          return false; // no zone (%eth0) nor brackets: RFC 5321's IPv6-addr
        }
      }
      return io.netty.util.NetUtil.isValidIpV6Address(address);
    }
    String[] numbers = inside.split("\\.", -1);
    if (numbers.length != 4) {
      return false;
    }
    for (String n : numbers) {
      if (n.isEmpty() || n.length() > 3 || !n.chars().allMatch(c -> c >= '0' && c <= '9') || Integer.parseInt(n) > 255) {
        return false;
      }
    }
    return true;
  }

  private static boolean letterOrDigit(char c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9';
  }

  /** The name's A-label form, as a suggestion, when IDNA can make one. */
  private static String aLabelForm(String name) {
    try {
      String ascii = IDN.toASCII(name, IDN.USE_STD3_ASCII_RULES);
      return problem(ascii) == null ? ": write an internationalized name in its A-label form, here " + ascii : "";
    } catch (IllegalArgumentException e) {
      return "";
    }
  }
}
