package io.mailgate.feedback;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The mailbox provider of a recipient, for GetMessageInsights' {@code Isp} and VDM's ISP dimension (BatchGetMetricData,
 * where a domain the table does not know is {@link #OTHER}). SES knows it from where it delivered;
 * Mailgate guesses it from the address's domain, with the consumer domains of the biggest providers only: Gmail
 * ({@code gmail.com}, {@code googlemail.com}), Yahoo ({@code yahoo.*} but Yahoo Japan, which is another company,
 * {@code ymail.com}, {@code rocketmail.com}), Outlook ({@code outlook.*}, {@code hotmail.*}, {@code live.*},
 * {@code msn.com}) and iCloud ({@code icloud.com}, {@code me.com}, {@code mac.com}). {@code .*} is {@code com}, a
 * country code, or {@code co.}/{@code com.} and a country code. "Gmail" and "Yahoo" are the names SES's documentation
 * shows; the others are Mailgate's choice, as SES lists no more. A domain hosted by a provider under its own name
 * (Google Workspace, Microsoft 365) is not recognised: that would take an MX lookup per recipient.
 */
public final class MailboxProviders {
  /** VDM's ISP of the recipients whose provider the table does not know. */
  public static final String OTHER = "Other";

  private static final Map<String, String> DOMAINS = Map.of(
      "gmail.com", "Gmail",
      "googlemail.com", "Gmail",
      "ymail.com", "Yahoo",
      "rocketmail.com", "Yahoo",
      "msn.com", "Outlook",
      "icloud.com", "iCloud",
      "me.com", "iCloud",
      "mac.com", "iCloud");
  private static final Pattern COUNTRY_FAMILIES =
      Pattern.compile("(yahoo|outlook|hotmail|live)\\.(com|[a-z]{2}|(?:co|com)\\.[a-z]{2})");

  private MailboxProviders() {}

  /** The provider of {@code address}'s mailbox, or null when its domain is not in the table. */
  public static String of(String address) {
    return ofDomain(address.substring(address.lastIndexOf('@') + 1));
  }

  /** The provider of the mailboxes at {@code domain}, or null when it is not in the table. */
  public static String ofDomain(String domain) {
    domain = domain.toLowerCase(Locale.ROOT);
    String known = DOMAINS.get(domain);
    if (known != null) {
      return known;
    }
    Matcher m = COUNTRY_FAMILIES.matcher(domain);
    if (!m.matches() || domain.equals("yahoo.co.jp")) {
      return null;
    }
    return m.group(1).equals("yahoo") ? "Yahoo" : "Outlook";
  }

  /**
   * Whether {@code provider} (a name {@link #ofDomain} gives) sends senders a feedback loop of its readers' complaints
   * (ARF reports): Yahoo's Complaint Feedback Loop and Microsoft's Junk Mail Reporting Program do; Gmail (aggregate
   * figures only) and iCloud do not. VDM's DELIVERY_COMPLAINT counts the deliveries to those that do.
   */
  public static boolean hasFeedbackLoop(String provider) {
    return provider != null && FEEDBACK_LOOPS.contains(provider); // List.of refuses to look for a null
  }

  /** The providers {@link #hasFeedbackLoop} is true of. */
  public static final List<String> FEEDBACK_LOOPS = List.of("Yahoo", "Outlook");
}
