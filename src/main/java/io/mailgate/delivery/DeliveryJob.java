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

  /** The same message for these of its recipients. */
  public DeliveryJob withRecipients(List<Recipient> recipients) {
    return new DeliveryJob(messageId, accountId, envelopeFrom, verpDomain, configurationSet, recipients, content,
        acceptedAt, contactList, contactListTopic, identityAccount, tenantId);
  }

  /**
   * A recipient, how many attempts it already had and {@code due}, its next_attempt_at when it was leased (the claim
   * returned it; a message accepted just now: its creation time, to the microsecond PostgreSQL keeps). The outcome
   * carries it back as the claim's fence: an outcome written again after its first write committed (its answer lost)
   * finds the row queued again with another next_attempt_at, and leaves a later claim of it alone.
   */
  public record Recipient(int idx, String address, int attempts, java.time.Instant due) {}
}
