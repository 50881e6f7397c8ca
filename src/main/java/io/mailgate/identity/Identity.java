package io.mailgate.identity;

import io.vertx.core.json.JsonArray;
import java.time.Instant;

/** A verified (or to be verified) sender identity of one account: an email address or a domain. */
public record Identity(String accountId, String name, Type type, Status verificationStatus, boolean dkimSigningEnabled,
    Status dkimStatus, String dkimOrigin, String dkimSelector, String dkimKeyLength, String dkimPublicKey,
    Instant dkimKeyCreatedAt, String mailFromDomain, Status mailFromStatus, String mailFromBehavior,
    String configurationSet, JsonArray tags, Instant createdAt, NextKey nextDkimKey) {

  /**
   * A domain's next Easy DKIM key, waiting for its record to be published: the current key signs until the record is
   * found, then this key takes its place.
   */
  public record NextKey(String selector, String keyLength, String publicKey) {
    public String recordName(String domain) {
      return selector + "._domainkey." + domain;
    }

    public String recordValue() {
      return "v=DKIM1; k=rsa; p=" + publicKey;
    }
  }

  public enum Type { EMAIL_ADDRESS, DOMAIN }

  /** SES's verification statuses (identity, DKIM and MAIL FROM share them). */
  public enum Status { PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, NOT_STARTED }

  /**
   * Whether mail may be sent from it (when it is the sender's identity): verified, or a verified domain whose records
   * went missing (TEMPORARY_FAILURE: SES sends from it until it is FAILED).
   */
  public boolean verifiedForSending() {
    return verificationStatus == Status.SUCCESS || verificationStatus == Status.TEMPORARY_FAILURE;
  }

  /**
   * A domain with something not verified yet, or no longer: its verification, DKIM or custom MAIL FROM pending, failed
   * or its records missing for now (what {@link IdentityStore#restartDomainVerification} has checked again).
   */
  public boolean awaitsDns() {
    return isDomain() && (unsettled(verificationStatus) || unsettled(dkimStatus)
        || mailFromStatus == Status.PENDING || mailFromStatus == Status.TEMPORARY_FAILURE);
  }

  private static boolean unsettled(Status s) {
    return s == Status.PENDING || s == Status.FAILED || s == Status.TEMPORARY_FAILURE;
  }

  public boolean isDomain() {
    return type == Type.DOMAIN;
  }

  /** The domain the identity belongs to (the identity itself, or the address's domain). */
  public String domain() {
    return isDomain() ? name : name.substring(name.lastIndexOf('@') + 1);
  }

  /** The TXT record to publish for Easy DKIM / BYODKIM, or null when there is no key. */
  public String dkimRecordName() {
    return dkimSelector == null ? null : dkimSelector + "._domainkey." + name;
  }

  public String dkimRecordValue() {
    return dkimPublicKey == null ? null : "v=DKIM1; k=rsa; p=" + dkimPublicKey;
  }
}
