package io.mailgate.api.sesv1;

import io.mailgate.SesException;
import io.mailgate.identity.IdentityArn;
import io.mailgate.send.Caller;

/**
 * An identity as SES v1's identity actions take it: by its name or by its ARN,
 * {@code arn:aws:ses:<region>:<account>:identity/<name>} (SES documents both for the policy and notification actions,
 * and Terraform's {@code aws_ses_identity_notification_topic} passes the identity's ARN). The ARN is resolved to the
 * name here, in one place, so that the actions and the services below them only ever see names. An ARN finds only
 * the caller's own identities: another account's names nothing the caller may change or read.
 */
final class IdentityParameter {
  private final String region;

  IdentityParameter(String region) {
    this.region = region;
  }

  /**
   * The identity's name, given as such or as its ARN. Another account's ARN is refused as an identity the caller does
   * not have is; an ARN that is not an identity's of this region is a BadRequest saying so.
   */
  String name(Caller caller, String given) {
    if (!given.startsWith("arn:")) {
      return given;
    }
    IdentityArn arn = IdentityArn.parse(given, region, "Identity");
    if (!arn.account().equals(caller.account().id())) {
      throw QueryApi.invalidIdentity(arn.identity());
    }
    return arn.identity();
  }

  /**
   * For a lookup of many identities: the name, or null when {@code given} is an ARN that names none of the caller's
   * identities here. SES leaves an identity the caller does not have out of such an answer rather than failing the
   * others asked for with it, so such an ARN is left out the same way.
   */
  String nameOrNull(Caller caller, String given) {
    try {
      return name(caller, given);
    } catch (SesException e) {
      return null;
    }
  }
}
