package io.mailgate.configset;

import io.mailgate.SesError;
import io.mailgate.SesException;
import io.mailgate.identity.IdentityStore;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A configuration set's tracking options (SES {@code TrackingOptions}), checked the same way for v1 and v2: the
 * custom redirect domain must be a host name whose domain (it or a parent) is a verified domain identity of the
 * account, as SES requires, so that a tenant cannot make its tracking links carry a domain it does not own.
 */
public final class TrackingOptions {
  public static final List<String> POLICIES = List.of("REQUIRE", "REQUIRE_OPEN_ONLY", "OPTIONAL");

  /** What a set's TrackingOptions say: its custom redirect domain (null: the node's URL) and HTTPS policy. */
  public record Options(String domain, String policy) {}
  private static final Pattern HOST = Pattern.compile(
      "(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?");

  private final IdentityStore identities;

  public TrackingOptions(IdentityStore identities) {
    this.identities = identities;
  }

  /** The domain in lower case, once it is found to be the account's; a BadRequest otherwise. */
  public Future<String> checkDomain(String accountId, String given) {
    String domain;
    try {
      domain = syntax(given);
    } catch (SesException e) {
      return Future.failedFuture(e);
    }
    List<String> candidates = new ArrayList<>();
    for (String d = domain; d.indexOf('.') > 0; d = d.substring(d.indexOf('.') + 1)) {
      candidates.add(d);
    }
    return identities.findAll(accountId, candidates).compose(found -> {
      for (IdentityStore.Stored s : found) {
        if (s.identity().isDomain() && s.identity().verifiedForSending()) {
          return Future.succeededFuture(domain);
        }
      }
      return Future.failedFuture(new SesException(SesError.INVALID_TRACKING_OPTIONS, "CustomRedirectDomain " + domain + " is not a verified "
          + "domain of this account, nor a subdomain of one: verify the domain first."));
    });
  }

  static String syntax(String given) {
    String d = given.strip().toLowerCase(Locale.ROOT);
    if (d.endsWith(".")) {
      d = d.substring(0, d.length() - 1);
    }
    if (!HOST.matcher(d).matches()) {
      throw new SesException(SesError.INVALID_TRACKING_OPTIONS, "CustomRedirectDomain must be a host name such as track.example.com, not '"
          + printable(given) + "'.");
    }
    return d;
  }

  /** The HTTPS policy (null: OPTIONAL, SES's default). */
  public static String policy(String given) {
    if (given == null || given.isEmpty()) {
      return "OPTIONAL";
    }
    String p = given.toUpperCase(Locale.ROOT);
    if (!POLICIES.contains(p)) {
      throw new SesException(SesError.INVALID_TRACKING_OPTIONS, "HttpsPolicy must be REQUIRE, REQUIRE_OPEN_ONLY or OPTIONAL, not '"
          + printable(given) + "'.");
    }
    return p;
  }

  private static String printable(String s) {
    return io.mailgate.send.MailboxParser.abbreviate(s);
  }
}
