package io.mailgate.delivery;

import java.time.Instant;

/** The result of delivering one recipient of one message, handed to the feedback handler. */
public record DeliveryOutcome(String messageId, String accountId, int idx, String recipient, AttemptResult result,
    Instant acceptedAt, Instant at) {}
