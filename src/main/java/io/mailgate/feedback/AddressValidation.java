package io.mailgate.feedback;

import io.mailgate.SesException;
import io.mailgate.send.Mailbox;
import io.mailgate.send.MailboxParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * SES's email validation (GetEmailAddressInsights, and Auto Validation at delivery): six evaluations of an address,
 * each a confidence verdict, and an overall one. The parts that need no network are here: syntax (the parser every
 * send uses), role addresses, disposable domains, random input; DNS and what is known of the mailbox come from the
 * caller ({@link DnsVerdict}, {@link MailboxVerdict}), which {@link #evaluate} folds in.
 *
 * <p>Overall: LOW when the syntax is invalid, the domain takes no mail, the mailbox is known not to take mail, or the
 * domain is a disposable mailbox service; MEDIUM when DNS could not say, the domain has no MX (mail would go to its
 * address records), the address is a role's, or its local part looks random with HIGH confidence (a MEDIUM there,
 * which some real names reach, lowers nothing); HIGH otherwise.
 */
public final class AddressValidation {

  /** A confidence verdict, as SES spells it. */
  public enum Verdict {
    LOW, MEDIUM, HIGH;

    /** At least as confident as {@code other}. */
    public boolean atLeast(Verdict other) {
      return compareTo(other) >= 0;
    }
  }

  /** What DNS said of the domain: an MX (HIGH), only address records or no answer now (MEDIUM), no mail (LOW). */
  public enum DnsVerdict {
    MX(Verdict.HIGH), IMPLICIT_MX(Verdict.MEDIUM), UNAVAILABLE(Verdict.MEDIUM), NO_MAIL(Verdict.LOW);

    final Verdict verdict;

    DnsVerdict(Verdict verdict) {
      this.verdict = verdict;
    }
  }

  /**
   * What is known of the mailbox without sending to it: it took mail or complained (EXISTS), it hard-bounced or is on a
   * suppression list for a bounce (GONE), nothing (UNKNOWN).
   */
  public enum MailboxVerdict {
    EXISTS(Verdict.HIGH), UNKNOWN(Verdict.MEDIUM), GONE(Verdict.LOW);

    final Verdict verdict;

    MailboxVerdict(Verdict verdict) {
      this.verdict = verdict;
    }
  }

  /**
   * The evaluations. For an address whose syntax is invalid only {@code validSyntax} is set (the others are null: there
   * is no domain to ask about).
   */
  public record Insights(Verdict valid, Verdict validSyntax, Verdict validDnsRecords, Verdict mailboxExists,
      Verdict roleAddress, Verdict disposable, Verdict randomInput) {}

  /** An address whose syntax is valid, lower case, with what needs no network already judged. */
  public record Candidate(String address, String localPart, String domain, boolean role, boolean disposable,
      Verdict random) {}

  /** Local parts that name a function, not a person (RFC 2142's and the common ones), compared without a +tag. */
  static final Set<String> ROLES = Set.of("abuse", "accounting", "accounts", "admin", "administrator", "billing",
      "careers", "compliance", "contact", "contactus", "customerservice", "devnull", "dns", "donotreply",
      "do-not-reply", "enquiries", "feedback", "ftp", "hello", "help", "helpdesk", "hostmaster", "hr", "info",
      "inquiries", "it", "jobs", "legal", "list", "mail", "mailer-daemon", "marketing", "media", "news",
      "newsletter", "noc", "no-reply", "noreply", "office", "orders", "postmaster", "press", "privacy", "reception",
      "root", "sales", "security", "service", "spam", "support", "sysadmin", "team", "tech", "unsubscribe",
      "usenet", "uucp", "webmaster", "www");

  private final Set<String> disposableDomains;

  AddressValidation(Set<String> disposableDomains) {
    this.disposableDomains = Set.copyOf(disposableDomains);
  }

  /** The bundled disposable domains, and those of {@code extraFile} when it is not blank. Reads files: not on a loop. */
  public static AddressValidation load(String extraFile) {
    Set<String> domains = new HashSet<>();
    try (InputStream in = AddressValidation.class.getResourceAsStream("/validation/disposable-domains.txt")) {
      if (in == null) {
        throw new IllegalStateException("the bundled list of disposable domains is missing");
      }
      read(in, domains);
      if (extraFile != null && !extraFile.isBlank()) {
        try (InputStream extra = Files.newInputStream(Path.of(extraFile))) {
          read(extra, domains);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the disposable domains of " + extraFile + ": " + e.getMessage(), e);
    }
    return new AddressValidation(domains);
  }

  private static void read(InputStream in, Set<String> into) throws IOException {
    BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    for (String line = r.readLine(); line != null; line = r.readLine()) {
      int hash = line.indexOf('#');
      String domain = (hash < 0 ? line : line.substring(0, hash)).strip().toLowerCase(Locale.ROOT);
      if (domain.endsWith(".")) {
        domain = domain.substring(0, domain.length() - 1);
      }
      if (!domain.isEmpty()) {
        // as addresses' domains are compared: A-labels (a name IDNA cannot convert for certain is kept as written)
        String ascii;
        try {
          ascii = MailboxParser.unambiguousAscii(domain);
        } catch (IllegalArgumentException e) {
          ascii = null;
        }
        into.add(ascii == null ? domain : ascii.toLowerCase(Locale.ROOT));
      }
    }
  }

  /** How many disposable domains are known. */
  public int disposableDomains() {
    return disposableDomains.size();
  }

  /**
   * The address judged on what needs no network, or null when its syntax is invalid (anything the send APIs would
   * refuse: control characters, a missing or malformed part, over-long parts, a display name).
   */
  public Candidate candidate(String address) {
    Mailbox m;
    try {
      m = MailboxParser.parseAddrSpec(address);
    } catch (SesException e) {
      return null;
    }
    String local = m.localPart().toLowerCase(Locale.ROOT);
    String domain = m.domain().toLowerCase(Locale.ROOT);
    int plus = local.indexOf('+');
    String base = plus > 0 ? local.substring(0, plus) : local;
    return new Candidate(local + "@" + domain, local, domain, ROLES.contains(base), isDisposable(domain),
        randomness(base));
  }

  /** The domain or one of its parents is a disposable mailbox service's. */
  boolean isDisposable(String domain) {
    for (String d = domain; ; ) {
      if (disposableDomains.contains(d)) {
        return true;
      }
      int dot = d.indexOf('.');
      if (dot < 0 || dot == d.length() - 1) {
        return false;
      }
      d = d.substring(dot + 1);
    }
  }

  /** The insights of an address whose syntax is invalid. */
  public static Insights invalidSyntax() {
    return new Insights(Verdict.LOW, Verdict.LOW, null, null, null, null, null);
  }

  /** All six evaluations and the overall verdict. */
  public static Insights evaluate(Candidate c, DnsVerdict dns, MailboxVerdict mailbox) {
    // a domain that takes no mail has no mailbox that does
    Verdict exists = dns == DnsVerdict.NO_MAIL ? Verdict.LOW : mailbox.verdict;
    Verdict overall;
    if (dns.verdict == Verdict.LOW || exists == Verdict.LOW || c.disposable()) {
      overall = Verdict.LOW;
    } else if (dns.verdict == Verdict.MEDIUM || c.role() || c.random() == Verdict.HIGH) {
      overall = Verdict.MEDIUM;
    } else {
      overall = Verdict.HIGH;
    }
    return new Insights(overall, Verdict.HIGH, dns.verdict, exists, c.role() ? Verdict.HIGH : Verdict.LOW,
        c.disposable() ? Verdict.HIGH : Verdict.LOW, c.random());
  }

  /**
   * How sure it is that a local part (without its +tag) was typed at random or generated: signs that names and words
   * rarely show, scored together. A run of seven consonants or more is two points, of six one (names joined up reach
   * six: kurtschmidt); a part of six letters or more without a vowel or digit, one more (y counts as a vowel, and so
   * do w, r and l between consonants, as in Welsh and Czech names; digits may stand for vowels, as in n1nj4);
   * letters and digits alternating (a1b2) are one point at three changes and two at six (never HIGH alone: handles
   * such as l33th4x0r are people's); a hexadecimal string of 16 characters or more with letters and digits in it,
   * two; each letter pair that languages written in Latin letters hardly have (q before a consonant, two different
   * letters of j, q, v, x, z together), one, up to two. Three points or more is HIGH, two MEDIUM, less LOW.
   * Separators (dot, hyphen, underscore) split the parts.
   */
  static Verdict randomness(String local) {
    int score = 0;
    int changes = 0;
    int rare = 0;
    boolean hex = local.length() >= 16;
    boolean hexDigits = false;
    boolean hexLetters = false;
    int letters = 0;
    int digits = 0;
    int vowels = 0;
    int run = 0;
    int longestRun = 0;
    boolean noVowelPart = false;
    char previous = 0;
    for (int i = 0; i <= local.length(); i++) {
      char ch = i < local.length() ? local.charAt(i) : '.';
      boolean letter = ch >= 'a' && ch <= 'z';
      boolean digit = ch >= '0' && ch <= '9';
      if (!letter && !digit) { // a separator ends a part
        if (letters >= 6 && vowels == 0 && digits == 0) { // with digits, they may stand for the vowels (n1nj4)
          noVowelPart = true;
        }
        letters = 0;
        vowels = 0;
        digits = 0;
        run = 0;
        previous = 0;
        if (i < local.length()) {
          hex = false;
        }
        continue;
      }
      if (previous != 0 && (Character.isDigit(previous) != digit)) {
        changes++;
      }
      if (digit) {
        hexDigits = true;
        digits++;
        run = 0;
      } else {
        letters++;
        if (ch > 'f') {
          hex = false;
        } else {
          hexLetters = true;
        }
        if ("aeiouy".indexOf(ch) >= 0 || syllabic(local, i, previous)) {
          vowels++;
          run = 0;
        } else {
          run++;
          longestRun = Math.max(longestRun, run);
        }
        if (previous != 0 && Character.isLetter(previous) && rarePair(previous, ch)) {
          rare++;
        }
      }
      previous = ch;
    }
    score += longestRun >= 7 ? 2 : longestRun == 6 ? 1 : 0;
    if (noVowelPart) {
      score++;
    }
    score += changes >= 6 ? 2 : changes >= 3 ? 1 : 0;
    if (hex && hexDigits && hexLetters) {
      score += 2;
    }
    score += Math.min(rare, 2);
    return score >= 3 ? Verdict.HIGH : score == 2 ? Verdict.MEDIUM : Verdict.LOW;
  }

  /**
   * w, r or l between two consonants carries the syllable (Welsh cwm, Czech prst, vlk): a vowel there, so that such
   * names are not runs of consonants.
   */
  private static boolean syllabic(String s, int i, char previous) {
    char ch = s.charAt(i);
    if ((ch != 'w' && ch != 'r' && ch != 'l') || i + 1 >= s.length()) {
      return false;
    }
    char next = s.charAt(i + 1);
    return consonant(previous) && consonant(next);
  }

  private static boolean consonant(char c) {
    return c >= 'a' && c <= 'z' && "aeiouy".indexOf(c) < 0;
  }

  private static boolean rarePair(char a, char b) {
    if (a == 'q') { // qi, qa (Chinese, Arabic names written in Latin letters) are common; q before a consonant is not
      return "aeiouy".indexOf(b) < 0;
    }
    return a != b && "jqvxz".indexOf(a) >= 0 && "jqvxz".indexOf(b) >= 0; // xx, zz: gamer tags, pizza
  }
}
