package io.mailgate.store;

import java.time.Instant;
import java.util.List;

/**
 * An accepted message as it is committed: the message row (which is also its Send event) and its recipients.
 * {@code contactList} and {@code contactListTopic}: the ListManagementOptions it was sent with (null for none).
 * {@code identityAccount} and {@code identityName}: the identity it is sent from, when a delegate sent it from another
 * account's identity (null: the sender's own). {@code tenant} and {@code tenantId}: the tenant it was sent for (null: none).
 * {@code operation}: the SES operation it was sent with ({@link io.mailgate.send.SendRequest#operation}; null for
 * Mailgate's own mail). {@code replacedFields}: the caller's Date and Message-ID fields its content no longer has
 * ({@link io.mailgate.send.RawMessage.Prepared#replacedFields}; null for none). {@code sourceTls}: the TLS protocol
 * the caller sent it over (its events' {@code ses:source-tls-version}; null in plain text, or not known).
 * {@code trackers}: which trackers its HTML was given ({@link #trackers(boolean, boolean)}; null for none), for VDM's
 * DELIVERY_OPEN and DELIVERY_CLICK.
 */
public record NewMessage(String id, String accountId, String source, String envelopeFrom, String verpDomain,
    String configurationSet,
    String tagsJson, byte[] content, List<String> recipients, Instant acceptedAt, String sourceIp,
    String callerIdentity, String contactList, String contactListTopic, String identityAccount, String identityName,
    String tenant, String tenantId, String operation, byte[] replacedFields, String sourceTls, Integer trackers) {
  /** {@link #trackers}' bit for an open pixel. */
  public static final int OPEN_PIXEL = 1;
  /** {@link #trackers}' bit for links wrapped for clicks. */
  public static final int CLICK_LINKS = 2;

  /** The trackers of a message given an open pixel ({@code open}) and its links wrapped ({@code click}). */
  public static Integer trackers(boolean open, boolean click) {
    int bits = (open ? OPEN_PIXEL : 0) | (click ? CLICK_LINKS : 0);
    return bits == 0 ? null : bits;
  }

  /** A message with no tracker. */
  public NewMessage(String id, String accountId, String source, String envelopeFrom, String verpDomain,
      String configurationSet, String tagsJson, byte[] content, List<String> recipients, Instant acceptedAt,
      String sourceIp, String callerIdentity, String contactList, String contactListTopic, String identityAccount,
      String identityName, String tenant, String tenantId, String operation, byte[] replacedFields,
      String sourceTls) {
    this(id, accountId, source, envelopeFrom, verpDomain, configurationSet, tagsJson, content, recipients, acceptedAt,
        sourceIp, callerIdentity, contactList, contactListTopic, identityAccount, identityName, tenant, tenantId,
        operation, replacedFields, sourceTls, null);
  }

  /** A message sent for no contact list, from one of the sender's own identities. */
  public NewMessage(String id, String accountId, String source, String envelopeFrom, String verpDomain,
      String configurationSet, String tagsJson, byte[] content, List<String> recipients, Instant acceptedAt,
      String sourceIp, String callerIdentity) {
    this(id, accountId, source, envelopeFrom, verpDomain, configurationSet, tagsJson, content, recipients, acceptedAt,
        sourceIp, callerIdentity, null, null, null, null, null, null, null, null, null);
  }
}
