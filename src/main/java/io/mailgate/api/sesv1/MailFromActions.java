package io.mailgate.api.sesv1;

import io.mailgate.SesException;
import io.mailgate.identity.Identity;
import io.mailgate.identity.IdentityService;
import io.mailgate.send.Caller;
import io.mailgate.send.MailboxParser;
import io.vertx.core.Future;

/**
 * SES v1's custom MAIL FROM domain: SetIdentityMailFromDomain (MailFromDomain left out turns it off) and
 * GetIdentityMailFromDomainAttributes, what older boto3 and Terraform's {@code aws_ses_domain_mail_from} call. The
 * same setting as SES v2's PutEmailIdentityMailFromAttributes and GetEmailIdentity, in v1's names: BehaviorOnMXFailure
 * is UseDefaultValue or RejectMessage, the status Pending, Success, Failed or TemporaryFailure, and an identity
 * without a MAIL FROM domain answers its behaviour alone, as SES does.
 */
final class MailFromActions {
  private final IdentityService identities;

  MailFromActions(IdentityService identities) {
    this.identities = identities;
  }

  Future<QueryXml> set(Caller caller, QueryParams p) {
    String identity = p.required("Identity");
    String behavior = p.string("BehaviorOnMXFailure");
    String v2Behavior;
    if (behavior == null || behavior.isEmpty() || behavior.equals("UseDefaultValue")) {
      v2Behavior = "USE_DEFAULT_VALUE";
    } else if (behavior.equals("RejectMessage")) {
      v2Behavior = "REJECT_MESSAGE";
    } else {
      throw SesException.badRequest("BehaviorOnMXFailure must be UseDefaultValue or RejectMessage, not '"
          + MailboxParser.abbreviate(behavior) + "'.");
    }
    return QueryApi.identityChanged(identity,
        identities.setMailFrom(caller.account().id(), identity, p.string("MailFromDomain"), v2Behavior));
  }

  Future<QueryXml> get(Caller caller, QueryParams p) {
    String account = caller.account().id();
    return QueryApi.identityAttributes(p, "MailFromDomainAttributes",
        QueryApi.eachOf(name -> identities.get(account, name)), (xml, identity) -> {
          if (identity.mailFromDomain() != null) {
            xml.text("MailFromDomain", identity.mailFromDomain())
                .text("MailFromDomainStatus", QueryApi.v1Status(identity.mailFromStatus() == null
                    ? Identity.Status.PENDING : identity.mailFromStatus()));
          }
          xml.text("BehaviorOnMXFailure",
              "REJECT_MESSAGE".equals(identity.mailFromBehavior()) ? "RejectMessage" : "UseDefaultValue");
        });
  }
}
