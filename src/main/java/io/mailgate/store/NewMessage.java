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
 */
public record NewMessage(String id, String accountId, String source, String envelopeFrom, String verpDomain,
    String configurationSet,
    String tagsJson, byte[] content, List<String> recipients, Instant acceptedAt, String sourceIp,
    String callerIdentity, String contactList, String contactListTopic, String identityAccount, String identityName,
    String tenant, String tenantId, String operation, byte[] replacedFields, String sourceTls) {

  /** A message sent for no contact list, from one of the sender's own identities. */
  public NewMessage(String id, String accountId, String source, String envelopeFrom, String verpDomain,
      String configurationSet, String tagsJson, byte[] content, List<String> recipients, Instant acceptedAt,
      String sourceIp, String callerIdentity) {
    this(id, accountId, source, envelopeFrom, verpDomain, configurationSet, tagsJson, content, recipients, acceptedAt,
        sourceIp, callerIdentity, null, null, null, null, null, null, null, null, null);
  }
}
