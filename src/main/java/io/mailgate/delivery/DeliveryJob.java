package io.mailgate.delivery;

import java.time.Instant;
import java.util.List;

/**
 * A committed message and the recipients this node holds the lease for. {@code content} is the
 * exact message (CRLF, signed when DKIM applies), shared read-only by all its recipients.
 */
public record DeliveryJob(String messageId, String accountId, String envelopeFrom, List<Recipient> recipients,
    byte[] content, Instant acceptedAt) {

  public record Recipient(int idx, String address) {}
}
