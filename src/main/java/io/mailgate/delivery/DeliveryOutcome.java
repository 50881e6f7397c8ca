package io.mailgate.delivery;

import java.time.Instant;

/**
 * The result of one attempt for one recipient, and what follows from it, handed to the feedback
 * handler. {@code attempt} is this attempt's number (1 for the first); {@code nextAttemptAt} is set
 * for DEFERRED and RESCHEDULED; {@code followUp} is what the mailbox simulator sends back, to be
 * received once this outcome is recorded (so its events come after this one's); {@code configurationSet} is the
 * message's, whose event destinations may take the outcome's event; {@code identityAccount} is the account owning the
 * identity the message was sent from when a delegate sent it (null: the sender's own), whose notification topics may
 * take the event; {@code tenantId} is the message's tenant's (null: none); {@code due} is the recipient's
 * next_attempt_at when it was leased ({@link DeliveryJob.Recipient#due}), the fence of the claim this attempt belongs to.
 */
public record DeliveryOutcome(String messageId, String accountId, String configurationSet, int idx, String recipient,
    AttemptResult result,
    Disposition disposition, int attempt, Instant nextAttemptAt, Instant expiresAt, Instant acceptedAt, Instant at,
    io.mailgate.feedback.InboundMail followUp, String identityAccount, String tenantId, Instant due) {}
