package io.mailgate.identity;

import io.mailgate.SesArn;
import io.mailgate.SesException;
import io.mailgate.send.MailboxParser;
import java.util.Locale;

/**
 * The ARN of an identity, {@code arn:aws:ses:<region>:<account>:identity/<identity>}: what a sending authorization
 * policy's Resource names, and what a delegate sender gives (SES v2's FromEmailAddressIdentityArn, v1's SourceArn,
 * FromArn and ReturnPathArn) to send from another account's identity.
 *
 * @param identity the identity's normal form ({@link IdentityNames#normalize})
 */
public record IdentityArn(String account, String identity) {

  /** The ARN as SES writes it for this identity in {@code region}. */
  public String format(String region) {
    return "arn:aws:ses:" + region + ":" + account + ":identity/" + identity;
  }

  /**
   * Reads an identity ARN given as {@code parameter}; a BadRequest when it is not one, or names another region than
   * this node's (the identity lives there, not here).
   */
  public static IdentityArn parse(String arn, String region, String parameter) {
    String shown = MailboxParser.abbreviate(arn);
    SesArn parsed = SesArn.parse(arn);
    if (parsed == null || !parsed.resource().startsWith("identity/") || !isAccountId(parsed.account())) {
      throw SesException.badRequest("Invalid " + parameter + " " + shown
          + ": expected arn:aws:ses:<region>:<account>:identity/<identity>.");
    }
    if (!parsed.region().equalsIgnoreCase(region)) {
      throw SesException.badRequest("Invalid " + parameter + " " + shown + ": the identity is in region "
          + parsed.region() + ", this endpoint serves " + region + ".");
    }
    String identity;
    try {
      identity = IdentityNames.normalize(parsed.resource().substring("identity/".length()));
    } catch (SesException e) {
      throw SesException.badRequest("Invalid " + parameter + " " + shown + ": " + e.getMessage());
    }
    return new IdentityArn(parsed.account(), identity);
  }

  /**
   * Whether the sender {@code address} belongs to this identity: the address itself, or an address of the domain or
   * of one of its subdomains.
   */
  public boolean covers(String address) {
    String a = address.toLowerCase(Locale.ROOT);
    return IdentityNames.isAddress(identity) ? a.equals(identity)
        : IdentityNames.domainCovers(identity, IdentityNames.domainOf(a));
  }

  /** An AWS account id: twelve digits (the start-dev account's among them). */
  static boolean isAccountId(String s) {
    if (s.length() != 12) {
      return false;
    }
    for (int i = 0; i < 12; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }
}
