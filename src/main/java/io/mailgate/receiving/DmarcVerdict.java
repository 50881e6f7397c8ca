package io.mailgate.receiving;

import com.google.common.net.InternetDomainName;
import io.mailgate.delivery.dns.DnsAnswer;
import io.mailgate.delivery.dns.DnsResolver;
import io.vertx.core.Future;
import java.net.IDN;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.james.mime4j.dom.address.Address;
import org.apache.james.mime4j.dom.address.Group;
import org.apache.james.mime4j.dom.address.Mailbox;
import org.apache.james.mime4j.field.address.LenientAddressParser;
import org.apache.james.mime4j.stream.ParserCursor;
import org.apache.james.mime4j.stream.RawFieldParser;
import org.apache.james.mime4j.util.ByteSequence;
import org.apache.james.mime4j.util.ContentUtil;

/**
 * The {@code dmarcVerdict} (and {@code dmarcPolicy}) of a received message, as SES reports them (RFC 7489): the
 * policy of the RFC5322.From domain, from TXT {@code _dmarc.<domain>} or else {@code _dmarc.<organizational domain>}
 * (the Public Suffix List's registrable domain, through Guava); PASS when SPF passed for an aligned MAIL FROM domain
 * or a DKIM signature of an aligned domain verified (relaxed: same organizational domain; strict, per {@code aspf} and
 * {@code adkim}: the same domain), FAIL when a policy exists and neither aligns, GRAY when there is no policy,
 * PROCESSING_FAILED when DNS could not say. {@code pct} is not applied: it samples the receiver's action, not the
 * verdict. No reports are sent ({@code rua}, {@code ruf}).
 *
 * <p>The From domains (RFC 7489 6.6.1): every address of every From field is an author domain, and each is checked;
 * a message passes when none fails, and fails when one does, with the strictest of the failing domains' policies
 * (so a second From field or address cannot hide a failing one). A message without a From address with a domain has
 * no author domain to check: GRAY (RFC 5322 requires one; rejecting such mail is the receiver's own policy). Of more
 * than {@link #MAX_AUTHOR_DOMAINS} domains only the first ones are looked up, and the message FAILs whatever they say
 * (with the strictest policy of those that fail, else {@code none}): the rest could not be checked, and a sender would
 * otherwise add addresses to turn a failing domain's FAIL into something softer.
 */
public final class DmarcVerdict {
  static final int MAX_AUTHOR_DOMAINS = 10;
  /** Policies from the least to the most strict. */
  private static final List<String> POLICIES = List.of("none", "quarantine", "reject");
  private static final BitSet COMMA = RawFieldParser.INIT_BITSET(',');

  /**
   * A verdict and, only when it is FAIL, the policy that applies ({@code none}, {@code quarantine} or
   * {@code reject}), else null.
   */
  public record Verdict(String status, String policy) {
    static final Verdict GRAY = new Verdict(DkimVerdict.GRAY, null);
    static final Verdict PASS = new Verdict(DkimVerdict.PASS, null);
    static final Verdict PROCESSING_FAILED = new Verdict(DkimVerdict.PROCESSING_FAILED, null);
  }

  /**
   * A DMARC record's tags that matter here.
   *
   * @param p the policy for the domain
   * @param sp the policy for its subdomains, or null
   * @param strictSpf {@code aspf=s}
   * @param strictDkim {@code adkim=s}
   * @param pct the share of failing mail the policy is to be applied to, 0 to 100 (100 when missing or invalid)
   */
  record Policy(String p, String sp, boolean strictSpf, boolean strictDkim, int pct) {}

  /**
   * The DMARC policy published for a domain ({@link #policyOf}): {@code none}, {@code quarantine} or {@code reject},
   * {@code ""} when none is; and its {@code pct}.
   */
  public record Published(String policy, int pct) {
    static final Published NONE = new Published("", 100);

    /** Whether receivers are asked to quarantine or reject all the failing mail (what BIMI requires). */
    public boolean enforced() {
      return (policy.equals("quarantine") || policy.equals("reject")) && pct == 100;
    }
  }

  private final DnsResolver dns;

  public DmarcVerdict(DnsResolver dns) {
    this.dns = dns;
  }

  /**
   * What SPF and DKIM could not check (DNS failed): SPF's MAIL FROM domain when it is TEMPERROR, the {@code d=} domains
   * of the signatures whose keys could not be looked up, or {@code anything} (a check that ran out of time, or broke).
   * Only what could have aligned with an author domain makes that domain's failure uncertain: a spoofer's own
   * unaligned domain whose DNS fails (or a junk signature of theirs) must not turn a FAIL into PROCESSING_FAILED.
   */
  public record Unsure(String spfDomain, List<String> dkimDomains, boolean anything) {
    public static final Unsure NOTHING = new Unsure(null, List.of(), false);
    public static final Unsure ANYTHING = new Unsure(null, List.of(), true);

    public Unsure {
      dkimDomains = List.copyOf(dkimDomains);
    }

    boolean couldAlign(String author, Policy policy) {
      return anything || (spfDomain != null && aligned(author, spfDomain, policy.strictSpf()))
          || dkimDomains.stream().anyMatch(d -> aligned(author, d, policy.strictDkim()));
    }
  }

  /**
   * The verdict on {@code message}: {@link #discover}, then {@link #judge}. Never fails.
   */
  public Future<Verdict> of(byte[] message, String mailFromDomain, boolean spfPassed, List<String> dkimDomains,
      Unsure unsure) {
    return discover(message).map(policies -> judge(policies, mailFromDomain, spfPassed, dkimDomains, unsure));
  }

  /**
   * What the message's From domains publish: the DNS half of the verdict, which needs only the header, so it can run
   * while SPF and DKIM are checked. Never fails.
   */
  public Future<Policies> discover(byte[] message) {
    Set<String> authors;
    try {
      authors = authorDomains(message);
    } catch (ReceivedHeaders.TooLong e) {
      return Future.succeededFuture(Policies.UNREADABLE);
    }
    Map<String, Future<Discovered>> each = new LinkedHashMap<>();
    for (String author : authors) {
      if (each.size() == MAX_AUTHOR_DOMAINS) {
        break;
      }
      each.put(author, discover(author).otherwise(new Discovered(author, null)));
    }
    boolean incomplete = authors.size() > each.size();
    return Future.all(List.copyOf(each.values())).map(done -> {
      Map<String, Discovered> found = new LinkedHashMap<>();
      each.forEach((author, f) -> found.put(author, f.result()));
      return new Policies(found, false, incomplete);
    });
  }

  /**
   * The verdict, from what the From domains publish and what SPF and DKIM authenticated: SPF's result for
   * {@code mailFromDomain} passed or not, DKIM signatures of {@code dkimDomains} verified; {@code unsure}: what SPF
   * or DKIM could not check (DNS failed). An author domain that nothing aligns for is PROCESSING_FAILED when what
   * could not be checked could have aligned with it, not a FAIL the sender's DNS provider caused; FAIL otherwise.
   */
  public static Verdict judge(Policies policies, String mailFromDomain, boolean spfPassed, List<String> dkimDomains,
      Unsure unsure) {
    if (policies.unreadable()) {
      return Verdict.PROCESSING_FAILED;
    }
    if (policies.byAuthor().isEmpty()) {
      return Verdict.GRAY;
    }
    List<Verdict> each = new ArrayList<>();
    policies.byAuthor().forEach((author, found) -> each.add(verdict(author, found,
        spfPassed ? mailFromDomain : null, dkimDomains, unsure)));
    Verdict combined = combine(each);
    if (policies.incomplete() && !combined.status().equals(DkimVerdict.FAIL)) {
      return new Verdict(DkimVerdict.FAIL, POLICIES.get(0));
    }
    return combined;
  }

  /**
   * The DMARC records found for each author domain (in the From fields' order); {@code unreadable} when the author
   * domains could not be had (a header section too long to read) and none was looked up: PROCESSING_FAILED;
   * {@code incomplete} when there were more than {@link #MAX_AUTHOR_DOMAINS} and only those were looked up: FAIL.
   */
  public record Policies(Map<String, Discovered> byAuthor, boolean unreadable, boolean incomplete) {
    static final Policies UNREADABLE = new Policies(Map.of(), true, false);
  }

  /** What policy discovery read: the domain asked last and its DMARC records, or null records when DNS failed. */
  record Discovered(String domain, List<String> records) {}

  /** One author domain's verdict. */
  private static Verdict verdict(String author, Discovered found, String spfDomain, List<String> dkimDomains,
      Unsure unsure) {
    if (found.records() == null) {
      return Verdict.PROCESSING_FAILED;
    }
    // several records, or none: no policy (6.6.3, step 5)
    Policy policy = found.records().size() == 1 ? parse(found.records().get(0)) : null;
    if (policy == null) {
      return Verdict.GRAY;
    }
    boolean spfAligned = spfDomain != null && aligned(author, spfDomain, policy.strictSpf());
    boolean dkimAligned = dkimDomains.stream().anyMatch(d -> aligned(author, d, policy.strictDkim()));
    if (spfAligned || dkimAligned) {
      return Verdict.PASS;
    }
    if (unsure.couldAlign(author, policy)) {
      return Verdict.PROCESSING_FAILED;
    }
    boolean subdomain = !found.domain().equals(author);
    return new Verdict(DkimVerdict.FAIL, subdomain && policy.sp() != null ? policy.sp() : policy.p());
  }

  /**
   * The DMARC policy receivers apply to mail from {@code domain} (RFC 7489 6.6.3): {@code none}, {@code quarantine} or
   * {@code reject} (a subdomain's by its organizational domain's {@code sp} when it has one), {@code ""} when none is
   * published (no record, several, or one without a policy to apply), with its {@code pct}; null when DNS could not
   * say.
   */
  public Future<Published> policyOf(String domain) {
    return discover(domain).map(found -> {
      if (found.records() == null) {
        return null;
      }
      Policy policy = found.records().size() == 1 ? parse(found.records().get(0)) : null;
      if (policy == null) {
        return Published.NONE;
      }
      return new Published(!found.domain().equals(domain) && policy.sp() != null ? policy.sp() : policy.p(),
          policy.pct());
    });
  }

  /** Policy discovery (RFC 7489 6.6.3): the records at the author domain, else at its organizational domain. */
  private Future<Discovered> discover(String author) {
    String org = organizationalDomain(author);
    return records(author).compose(here -> here.records() == null || !here.records().isEmpty() || org.equals(author)
        ? Future.succeededFuture(here) : records(org));
  }

  /** The DMARC records (starting with {@code v=DMARC1}) at {@code _dmarc.<domain>}. */
  private Future<Discovered> records(String domain) {
    return dns.txt("_dmarc." + domain).transform(done -> {
      if (done.failed() && done.cause() instanceof IllegalArgumentException) {
        return Future.succeededFuture(new Discovered(domain, List.of())); // not a domain name: no record there
      }
      if (done.failed() || done.result() instanceof DnsAnswer.Unavailable) {
        return Future.succeededFuture(new Discovered(domain, null));
      }
      return Future.succeededFuture(new Discovered(domain,
          done.result().records().stream().filter(DmarcVerdict::isDmarc).toList()));
    });
  }

  static boolean isDmarc(String txt) {
    String[] tags = txt.split(";", 2);
    String[] first = tags[0].split("=", 2);
    return first.length == 2 && first[0].strip().equals("v") && first[1].strip().equals("DMARC1");
  }

  /**
   * The policy of a DMARC record, or null when it has none to apply: a missing or invalid {@code p} or an invalid
   * {@code sp} is {@code p=none} when the record asks for aggregate reports ({@code rua}), else no policy (6.6.3,
   * step 6).
   */
  static Policy parse(String record) {
    String p = null;
    String sp = null;
    boolean invalid = false;
    boolean rua = false;
    boolean strictSpf = false;
    boolean strictDkim = false;
    int pct = 100;
    for (String tag : record.split(";")) {
      String[] kv = tag.split("=", 2);
      if (kv.length != 2) {
        continue;
      }
      String name = kv[0].strip().toLowerCase(Locale.ROOT);
      String value = kv[1].strip().toLowerCase(Locale.ROOT);
      switch (name) {
        case "p" -> {
          p = POLICIES.contains(value) ? value : null;
          invalid |= p == null;
        }
        case "sp" -> {
          sp = POLICIES.contains(value) ? value : null;
          invalid |= sp == null;
        }
        case "aspf" -> strictSpf = value.equals("s");
        case "adkim" -> strictDkim = value.equals("s");
        case "rua" -> rua = !value.isEmpty();
        case "pct" -> pct = percentage(value);
        default -> { } // ruf, fo, rf, ri: nothing to do with the verdict
      }
    }
    if (p == null || invalid) {
      return rua ? new Policy("none", null, strictSpf, strictDkim, pct) : null;
    }
    return new Policy(p, sp, strictSpf, strictDkim, pct);
  }

  /** A {@code pct} tag's value: 0 to 100, else 100 (RFC 7489 6.3: an invalid value is ignored, its default kept). */
  static int percentage(String value) {
    if (value.isEmpty() || value.length() > 3 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return 100;
    }
    int n = Integer.parseInt(value);
    return n <= 100 ? n : 100;
  }

  static boolean aligned(String author, String other, boolean strict) {
    String o = other.toLowerCase(Locale.ROOT);
    return strict ? author.equals(o) : organizationalDomain(author).equals(organizationalDomain(o));
  }

  /**
   * The organizational domain (RFC 7489 3.2): the Public Suffix List's registrable domain; a name under no listed
   * suffix falls under the list's default rule ({@code *}: the last label), a public suffix is its own.
   */
  public static String organizationalDomain(String domain) {
    try {
      InternetDomainName name = InternetDomainName.from(domain);
      if (name.isUnderPublicSuffix()) {
        return name.topPrivateDomain().toString();
      }
      if (name.isPublicSuffix() || name.parts().size() < 2) {
        return name.toString();
      }
      List<String> parts = name.parts();
      return parts.get(parts.size() - 2) + "." + parts.get(parts.size() - 1);
    } catch (IllegalArgumentException | IllegalStateException e) {
      return domain;
    }
  }

  /**
   * The domains of the addresses of the From fields, lower case, in A-labels, in order: all of them, or the first
   * {@link #MAX_AUTHOR_DOMAINS} and one more, which says there are more. The addresses after are not read: a From of
   * a hundred thousand addresses (on the inbound SMTP event loop) costs what its first ones do.
   */
  static Set<String> authorDomains(byte[] message) {
    Set<String> domains = new LinkedHashSet<>();
    Set<String> read = new HashSet<>(); // as written: a domain written again is not converted again
    for (String from : ReceivedHeaders.values(message, "From")) {
      String text = io.mailgate.send.EncodedWordDecoder.forAddressParsing(from);
      ByteSequence raw = ContentUtil.encode(text);
      // LenientAddressParser.parseAddressList, an address at a time, and to the end of the bytes: its own ends as
      // many bytes in as the text has characters, so a UTF-8 display name (RFC 6532) cut off the domain after it
      ParserCursor cursor = new ParserCursor(0, raw.length());
      while (!cursor.atEnd()) {
        if (domains.size() > MAX_AUTHOR_DOMAINS) {
          return domains;
        }
        if (raw.byteAt(cursor.getPos()) == ',') {
          cursor.updatePos(cursor.getPos() + 1);
          continue;
        }
        Address a = LenientAddressParser.DEFAULT.parseAddress(raw, cursor, COMMA);
        List<Mailbox> boxes = a instanceof Group g ? g.getMailboxes() : a instanceof Mailbox m ? List.of(m) : List.of();
        for (Mailbox m : boxes) {
          if (domains.size() > MAX_AUTHOR_DOMAINS) {
            return domains; // a group's addresses: read already, but no more are converted
          }
          String d = m.getDomain();
          if (d == null || d.isBlank() || !read.add(d.strip().toLowerCase(Locale.ROOT))) {
            continue;
          }
          try {
            d = IDN.toASCII(d.strip(), IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
          } catch (IllegalArgumentException e) {
            d = d.strip().toLowerCase(Locale.ROOT);
          }
          domains.add(d.endsWith(".") ? d.substring(0, d.length() - 1) : d);
        }
      }
    }
    return domains;
  }

  private static Verdict combine(List<Verdict> verdicts) {
    Verdict worst = null;
    for (Verdict v : verdicts) {
      if (v.status().equals(DkimVerdict.FAIL)) {
        if (worst == null || !worst.status().equals(DkimVerdict.FAIL)
            || POLICIES.indexOf(v.policy()) > POLICIES.indexOf(worst.policy())) {
          worst = v;
        }
      } else if (worst == null || !worst.status().equals(DkimVerdict.FAIL) && rank(v) > rank(worst)) {
        worst = v;
      }
    }
    return worst;
  }

  /** GRAY, then PASS, then PROCESSING_FAILED (a FAIL beats them all). */
  private static int rank(Verdict v) {
    return switch (v.status()) {
      case DkimVerdict.PASS -> 1;
      case DkimVerdict.PROCESSING_FAILED -> 2;
      default -> 0;
    };
  }
}
