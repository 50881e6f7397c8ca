package io.mailgate.send;

import io.mailgate.SesException;
import java.net.IDN;
import java.util.Locale;

/**
 * Parses the addresses SES accepts in its APIs: {@code user@example.com},
 * {@code Display Name <user@example.com>}, {@code "Quoted, Name" <user@example.com>} or a display
 * name already written as RFC 2047 encoded words. Unicode display names are allowed (they are
 * encoded when the message is built); the local part must be 7-bit ASCII; a Unicode domain is
 * converted to punycode. Anything else, and any control character (header injection), is refused
 * with a BadRequestException that names the address.
 */
public final class MailboxParser {
  static final int MAX_LOCAL_PART = 64;
  static final int MAX_DOMAIN = 253;
  /** RFC 5321 section 4.5.3.1.3: a path is at most 256 octets with its angle brackets. */
  static final int MAX_ADDRESS = 254;
  static final int MAX_INPUT = 1024;

  private MailboxParser() {}

  public static Mailbox parse(String input) {
    if (input == null || input.isBlank()) {
      throw SesException.badRequest("Missing email address.");
    }
    if (input.length() > MAX_INPUT) {
      throw SesException.badRequest("Email address is too long: " + abbreviate(input));
    }
    requireNoControl(input);
    String s = input.strip();
    String displayName = null;
    String addrSpec;
    if (s.endsWith(">")) {
      int lt = openingBracket(s);
      if (lt < 0) {
        throw SesException.badRequest("Illegal address: " + abbreviate(input));
      }
      addrSpec = s.substring(lt + 1, s.length() - 1).strip();
      displayName = displayName(s.substring(0, lt).strip(), input);
    } else {
      addrSpec = s;
    }
    return addrSpec(addrSpec, displayName, input);
  }

  /** Parses a bare addr-spec (an SMTP path without brackets). */
  public static Mailbox parseAddrSpec(String addrSpec) {
    if (addrSpec != null) {
      requireNoControl(addrSpec); // a quoted local part would take CR, LF and NUL otherwise
    }
    return addrSpec(addrSpec == null ? "" : addrSpec.strip(), null, addrSpec);
  }

  private static void requireNoControl(String input) {
    for (int i = 0; i < input.length(); i++) {
      char c = input.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        throw SesException.badRequest("Illegal control character (CR, LF or other) in address: " + abbreviate(input));
      }
    }
  }

  /** Index of the '<' that opens the final angle-addr, ignoring brackets inside quotes. */
  private static int openingBracket(String s) {
    boolean quoted = false;
    int found = -1;
    for (int i = 0; i < s.length() - 1; i++) {
      char c = s.charAt(i);
      if (c == '\\' && quoted) {
        i++;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == '<' && !quoted) {
        found = i;
      }
    }
    return found;
  }

  private static String displayName(String phrase, String input) {
    if (phrase.isEmpty()) {
      return null;
    }
    String name;
    if (phrase.length() >= 2 && phrase.startsWith("\"") && phrase.endsWith("\"")) {
      StringBuilder sb = new StringBuilder(phrase.length());
      for (int i = 1; i < phrase.length() - 1; i++) {
        char c = phrase.charAt(i);
        if (c == '\\' && i + 1 < phrase.length() - 1) {
          c = phrase.charAt(++i);
        } else if (c == '"') {
          throw SesException.badRequest("Illegal quoted display name in address: " + abbreviate(input));
        }
        sb.append(c);
      }
      name = sb.toString();
    } else {
      if (phrase.indexOf('"') >= 0 || phrase.indexOf('<') >= 0 || phrase.indexOf('>') >= 0) {
        throw SesException.badRequest("Illegal display name in address: " + abbreviate(input));
      }
      name = phrase;
    }
    if (name.contains("=?")) {
      name = EncodedWordDecoder.decode(name);
      for (int i = 0; i < name.length(); i++) {
        if (name.charAt(i) < 0x20 || name.charAt(i) == 0x7f) {
          throw SesException.badRequest("Illegal control character in encoded display name: " + abbreviate(input));
        }
      }
    }
    return name.isBlank() ? null : name;
  }

  private static Mailbox addrSpec(String addr, String displayName, String input) {
    int at = addr.lastIndexOf('@');
    if (at < 0) {
      throw SesException.badRequest("Missing final '@domain' in address: " + abbreviate(input));
    }
    String local = addr.substring(0, at);
    String domain = addr.substring(at + 1);
    if (local.isEmpty()) {
      throw SesException.badRequest("Missing local part in address: " + abbreviate(input));
    }
    if (local.length() > MAX_LOCAL_PART) {
      throw SesException.badRequest("Local part of address is longer than 64 characters: " + abbreviate(input));
    }
    checkLocalPart(local, input);
    String ascii = asciiDomain(domain, input);
    if (local.length() + 1 + ascii.length() > MAX_ADDRESS) {
      throw SesException.badRequest("Address is longer than 254 characters: " + abbreviate(input));
    }
    return new Mailbox(displayName, local, ascii);
  }

  private static void checkLocalPart(String local, String input) {
    if (local.startsWith("\"")) {
      if (local.length() < 2 || !local.endsWith("\"")) {
        throw SesException.badRequest("Illegal quoted local part in address: " + abbreviate(input));
      }
      for (int i = 1; i < local.length() - 1; i++) {
        char c = local.charAt(i);
        if (c > 0x7e) {
          throw nonAscii(input);
        }
        if (c == '\\') {
          if (i + 1 >= local.length() - 1) { // the backslash would take the closing quote
            throw SesException.badRequest("Illegal quoted local part in address: " + abbreviate(input));
          }
          i++;
        } else if (c == '"') {
          throw SesException.badRequest("Illegal quoted local part in address: " + abbreviate(input));
        }
      }
      return;
    }
    if (local.startsWith(".") || local.endsWith(".") || local.contains("..")) {
      throw SesException.badRequest("Illegal dot placement in local part of address: " + abbreviate(input));
    }
    for (int i = 0; i < local.length(); i++) {
      char c = local.charAt(i);
      if (c > 0x7e) {
        throw nonAscii(input);
      }
      if (!isAtext(c) && c != '.') {
        throw SesException.badRequest("Illegal character '" + c + "' in local part of address: " + abbreviate(input));
      }
    }
  }

  private static SesException nonAscii(String input) {
    return SesException.badRequest(
        "The local part of an address must be 7-bit ASCII (SMTPUTF8 mailboxes are not supported): " + abbreviate(input));
  }

  /** A local part as an addr-spec writes it: as it is when it is a dot-atom, else as a quoted string. */
  static String quotedIfNeeded(String local) {
    boolean atom = !local.isEmpty() && !local.startsWith(".") && !local.endsWith(".") && !local.contains("..");
    for (int i = 0; atom && i < local.length(); i++) {
      atom = isAtext(local.charAt(i)) || local.charAt(i) == '.';
    }
    if (atom) {
      return local;
    }
    StringBuilder sb = new StringBuilder(local.length() + 2).append('"');
    for (int i = 0; i < local.length(); i++) {
      char c = local.charAt(i);
      sb.append(c == '"' || c == '\\' ? "\\" : "").append(c);
    }
    return sb.append('"').toString();
  }

  static boolean isAtext(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || "!#$%&'*+-/=?^_`{|}~".indexOf(c) >= 0;
  }

  /**
   * The ASCII (Punycode) form of a domain written in Unicode, or null when it has none that is certain: the JDK converts
   * by IDNA2003, which maps some names elsewhere (faß.de to fass.de, not IDNA2008's xn--fa-hia.de), so a name that does
   * not come back as it was given (without case, and with the full stops IDNA takes for dots) is not converted.
   * Throws IllegalArgumentException for a name IDNA refuses.
   */
  public static String unambiguousAscii(String domain) {
    String ascii = IDN.toASCII(domain, IDN.USE_STD3_ASCII_RULES);
    String given = java.text.Normalizer.normalize(domain, java.text.Normalizer.Form.NFC).toLowerCase(Locale.ROOT)
        .replace('\u3002', '.').replace('\uFF0E', '.').replace('\uFF61', '.');
    return IDN.toUnicode(ascii, IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT).equals(given) ? ascii : null;
  }

  private static String asciiDomain(String domain, String input) {
    if (domain.isEmpty()) {
      throw SesException.badRequest("Missing domain in address: " + abbreviate(input));
    }
    String ascii = domain;
    for (int i = 0; i < domain.length(); i++) {
      if (domain.charAt(i) > 0x7e) {
        try {
          ascii = unambiguousAscii(domain);
        } catch (IllegalArgumentException e) {
          throw SesException.badRequest("Illegal internationalized domain in address: " + abbreviate(input));
        }
        if (ascii == null) {
          throw SesException.badRequest("Internationalized domain in address has no unambiguous ASCII form; give it "
              + "in Punycode (xn--): " + abbreviate(input));
        }
        break;
      }
    }
    if (ascii.endsWith(".")) {
      ascii = ascii.substring(0, ascii.length() - 1);
    }
    if (ascii.length() > MAX_DOMAIN) {
      throw SesException.badRequest("Domain of address is longer than 253 characters: " + abbreviate(input));
    }
    String[] labels = ascii.split("\\.", -1);
    if (labels.length < 2) {
      throw SesException.badRequest("Domain of address must be fully qualified: " + abbreviate(input));
    }
    for (String label : labels) {
      if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")) {
        throw SesException.badRequest("Illegal domain in address: " + abbreviate(input));
      }
      for (int i = 0; i < label.length(); i++) {
        char c = label.charAt(i);
        boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) {
          throw SesException.badRequest("Illegal character in domain of address: " + abbreviate(input));
        }
      }
    }
    return ascii;
  }

  public static String abbreviate(String s) {
    String clean = s.replace("\r", "\\r").replace("\n", "\\n");
    return clean.length() > 100 ? clean.substring(0, 100) + "..." : clean;
  }
}
