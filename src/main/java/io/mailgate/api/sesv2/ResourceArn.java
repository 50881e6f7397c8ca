package io.mailgate.api.sesv2;

import io.mailgate.SesArn;
import io.mailgate.SesException;
import io.mailgate.identity.IdentityNames;
import io.mailgate.send.Caller;
import io.mailgate.send.MailboxParser;
import java.util.Set;

/**
 * The resource a {@code ResourceArn} parameter names, as the v2 operations on resources read it
 * ({@code arn:aws:ses:<region>:<account>:<kind>/<name>}): its kind ({@code identity}, {@code configuration-set}, ...),
 * its name (an identity's normalized as identities are), the ARN as it may be shown in an error, and whether it is
 * in the caller's account (another's names nothing here; each operation says when it tells so, as AWS checks the rest
 * of a request first).
 */
record ResourceArn(String kind, String name, String shown, boolean ours) {

  /**
   * The ARN's resource; a BadRequest when it is no SES ARN, names no name, or is of a kind not in {@code kinds}
   * ({@code otherwise} says which are).
   */
  static ResourceArn parse(Caller caller, String arn, Set<String> kinds, String otherwise) {
    String shown = MailboxParser.abbreviate(arn);
    SesArn parsed = SesArn.parse(arn);
    if (parsed == null || parsed.account().isEmpty()) {
      throw SesException.badRequest("Invalid ResourceArn " + shown + ".");
    }
    String resource = parsed.resource();
    int slash = resource.indexOf('/');
    String kind = slash < 0 ? resource : resource.substring(0, slash);
    if (slash < 0 || !kinds.contains(kind)) {
      throw SesException.badRequest("Invalid ResourceArn " + shown + ": " + otherwise);
    }
    String name = resource.substring(slash + 1);
    if (kind.equals("identity")) {
      try {
        name = IdentityNames.normalize(name);
      } catch (SesException e) {
        throw SesException.badRequest("Invalid ResourceArn " + shown + ": " + e.getMessage());
      }
    }
    if (name.isEmpty()) {
      throw invalid(shown);
    }
    return new ResourceArn(kind, name, shown, parsed.account().equals(caller.account().id()));
  }

  static SesException invalid(String shown) {
    return SesException.badRequest("Invalid ResourceArn " + shown + ".");
  }
}
