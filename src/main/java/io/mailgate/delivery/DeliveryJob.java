package io.mailgate.delivery;

import java.time.Instant;
import java.util.List;

/**
 * A committed message and the recipients this node holds the lease for. {@code content} is the
 * exact message (CRLF, signed when DKIM applies), shared read-only by all its recipients. With a
 * {@code verpDomain}, each recipient's envelope sender is a VERP address on it; otherwise
 * {@code envelopeFrom}. {@code identityAccount}: the account owning the identity it was sent from, when a delegate sent
 * it from another account's identity (null: the sender's own). {@code tenantId}: the id of the tenant it was sent for (null:
 * none), whose reputation its outcomes count toward.
 */
public record DeliveryJob(String messageId, String accountId, String envelopeFrom, String verpDomain,
    String configurationSet, List<Recipient> recipients, byte[] content, Instant acceptedAt, String contactList,
    String contactListTopic, String identityAccount, String tenantId) {

  /**
   * A message sent for no contact list (with one: recipients who unsubscribed from it are not mailed), from the
   * sender's own identity.
   */
  public DeliveryJob(String messageId, String accountId, String envelopeFrom, String verpDomain,
      String configurationSet, List<Recipient> recipients, byte[] content, Instant acceptedAt) {
    this(messageId, accountId, envelopeFrom, verpDomain, configurationSet, recipients, content, acceptedAt, null, null,
        null, null);
  }

  /** A recipient and how many attempts it already had. */
  public record Recipient(int idx, String address, int attempts) {}
}
